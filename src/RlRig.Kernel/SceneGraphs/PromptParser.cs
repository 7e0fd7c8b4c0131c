namespace RlRig.SceneGraphs;

/// <summary>
/// Reads "attrs label predicate attrs label; ..." back into a graph. Each segment is a phrase, optionally followed
/// by a predicate and a second phrase; a phrase is any number of attributes then one label. Every reading of a
/// segment with the vocabulary is explored (segments are a few words, so this is cheap): no reading is an error at
/// the furthest word any reading reached, two readings are an ambiguity error at the first word where they part.
/// This accepts everything a greedy longest-match reader accepts without guessing when words overlap
/// ("stone" as both attribute and label).
/// </summary>
internal static class PromptParser
{
    private const int SubjectPhrase = 0, AfterSubject = 1, ObjectPhrase = 2, Done = 3;

    private readonly record struct Word(string Text, int Position);

    private readonly record struct Match(VocabularyEntry Entry, int WordIndex);

    public static SceneGraph Parse(string text, PromptVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var items = new List<SceneItem>();
        var relations = new List<SceneRelation>();
        var idByText = new Dictionary<string, int>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return new SceneGraph(items, relations);

        int segmentStart = 0;
        foreach (string rawSegment in text.Split(';'))
        {
            List<Word> words = Words(rawSegment, segmentStart);
            string segment = rawSegment.Trim();
            if (words.Count == 0)
                throw new PromptParseException(
                    $"Empty segment at index {segmentStart} of the prompt (two \";\" in a row, or a trailing \";\").",
                    "", segmentStart, segment);
            List<Match> reading = ReadSegment(words, segment, vocabulary);
            ApplyReading(reading, items, relations, idByText);
            segmentStart += rawSegment.Length + 1;
        }
        return new SceneGraph(items, relations);
    }

    private static List<Word> Words(string segment, int offset)
    {
        var words = new List<Word>();
        int i = 0;
        while (i < segment.Length)
        {
            while (i < segment.Length && char.IsWhiteSpace(segment[i])) i++;
            int start = i;
            while (i < segment.Length && !char.IsWhiteSpace(segment[i])) i++;
            if (i > start) words.Add(new Word(segment[start..i], offset + start));
        }
        return words;
    }

    private static List<Match> ReadSegment(List<Word> words, string segment, PromptVocabulary vocabulary)
    {
        var readings = new List<List<Match>>(2);
        var search = new Search(words, vocabulary, readings);
        search.Explore(0, SubjectPhrase, []);
        if (readings.Count == 1) return readings[0];
        if (readings.Count > 1) throw Ambiguity(readings[0], readings[1], words, segment);
        throw search.Failure(segment);
    }

    private static PromptParseException Ambiguity(List<Match> a, List<Match> b, List<Word> words, string segment)
    {
        int k = 0;
        while (k < a.Count && k < b.Count && a[k] == b[k]) k++;
        // Both readings cover the whole segment, so they part at some entry of each.
        Match ma = a[Math.Min(k, a.Count - 1)], mb = b[Math.Min(k, b.Count - 1)];
        Word w = words[Math.Min(ma.WordIndex, mb.WordIndex)];
        return new PromptParseException(
            $"Ambiguous word \"{w.Text}\" at index {w.Position} in segment \"{segment}\": it can be read as " +
            $"{Describe(ma.Entry)} or as {Describe(mb.Entry)}.",
            w.Text, w.Position, segment);
    }

    private static string Describe(VocabularyEntry e) => $"{e.Kind.ToString().ToLowerInvariant()} \"{e.Text}\"";

    private static void ApplyReading(
        List<Match> reading, List<SceneItem> items, List<SceneRelation> relations, Dictionary<string, int> idByText)
    {
        var phraseIds = new List<int>(2);
        string? predicate = null;
        var attributes = new List<string>();
        foreach (Match m in reading)
        {
            switch (m.Entry.Kind)
            {
                case PromptWordKind.Attribute:
                    attributes.Add(m.Entry.Text);
                    break;
                case PromptWordKind.Label:
                    var item = new SceneItem(0, m.Entry.Text, attributes.ToArray());
                    if (!idByText.TryGetValue(item.Text, out int id))
                    {
                        id = items.Count;
                        idByText[item.Text] = id;
                        items.Add(item with { Id = id });
                    }
                    phraseIds.Add(id);
                    attributes.Clear();
                    break;
                case PromptWordKind.Predicate:
                    predicate = m.Entry.Text;
                    break;
            }
        }
        if (predicate is not null) relations.Add(new SceneRelation(phraseIds[0], predicate, phraseIds[1]));
    }

    /// <summary>Depth-first search over readings; stops once two complete readings are known.</summary>
    private sealed class Search(List<Word> words, PromptVocabulary vocabulary, List<List<Match>> readings)
    {
        private int _furthest = -1;
        private readonly HashSet<PromptWordKind> _expectedAtFurthest = [];
        private bool _endAllowedAtFurthest;

        public void Explore(int position, int state, List<Match> path)
        {
            if (readings.Count >= 2) return;
            bool endAllowed = state is AfterSubject or Done;
            if (position == words.Count)
            {
                if (endAllowed) readings.Add([.. path]);
                else NoteFailure(position, ExpectedIn(state), endAllowed);
                return;
            }
            if (state == Done)
            {
                NoteFailure(position, [], endAllowed: true);
                return;
            }
            bool any = false;
            foreach (VocabularyEntry entry in vocabulary.StartingWith(words[position].Text))
            {
                int? next = Next(state, entry.Kind);
                if (next is null || !MatchesAt(entry, position)) continue;
                any = true;
                path.Add(new Match(entry, position));
                Explore(position + entry.Words.Length, next.Value, path);
                path.RemoveAt(path.Count - 1);
            }
            if (!any) NoteFailure(position, ExpectedIn(state), endAllowed);
        }

        public PromptParseException Failure(string segment)
        {
            string expected = string.Join(" or ", _expectedAtFurthest.Order().Select(k => k.ToString().ToLowerInvariant()));
            if (_endAllowedAtFurthest) expected = expected.Length == 0 ? "the end of the segment" : expected + " or the end of the segment";
            if (_furthest >= words.Count)
            {
                Word last = words[^1];
                int end = last.Position + last.Text.Length;
                return new PromptParseException(
                    $"Segment \"{segment}\" ends too early at index {end}: expected {expected}.", "", end, segment);
            }
            Word w = words[_furthest];
            string what = vocabulary.Knows(w.Text) ? "Unexpected word" : "Unknown word";
            return new PromptParseException(
                $"{what} \"{w.Text}\" at index {w.Position} in segment \"{segment}\": expected {expected}.",
                w.Text, w.Position, segment);
        }

        private bool MatchesAt(VocabularyEntry entry, int position)
        {
            if (position + entry.Words.Length > words.Count) return false;
            for (int k = 1; k < entry.Words.Length; k++)
                if (!string.Equals(words[position + k].Text, entry.Words[k], StringComparison.Ordinal)) return false;
            return true;
        }

        private void NoteFailure(int position, IEnumerable<PromptWordKind> expected, bool endAllowed)
        {
            if (position < _furthest) return;
            if (position > _furthest)
            {
                _furthest = position;
                _expectedAtFurthest.Clear();
                _endAllowedAtFurthest = false;
            }
            _expectedAtFurthest.UnionWith(expected);
            _endAllowedAtFurthest |= endAllowed;
        }

        private static int? Next(int state, PromptWordKind kind) => (state, kind) switch
        {
            (SubjectPhrase, PromptWordKind.Attribute) => SubjectPhrase,
            (SubjectPhrase, PromptWordKind.Label) => AfterSubject,
            (AfterSubject, PromptWordKind.Predicate) => ObjectPhrase,
            (ObjectPhrase, PromptWordKind.Attribute) => ObjectPhrase,
            (ObjectPhrase, PromptWordKind.Label) => Done,
            _ => null,
        };

        private static PromptWordKind[] ExpectedIn(int state) => state switch
        {
            SubjectPhrase or ObjectPhrase => [PromptWordKind.Attribute, PromptWordKind.Label],
            AfterSubject => [PromptWordKind.Predicate],
            _ => [],
        };
    }
}
