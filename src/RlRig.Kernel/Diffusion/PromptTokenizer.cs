using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>A prompt cannot be tokenized: an unknown word, or too many words. The message names the word and position.</summary>
public sealed class PromptTokenizerException(string message) : ArgumentException(message);

/// <summary>
/// Word-level tokenizer over a closed vocabulary given by the caller (the world's colours, sizes, shapes, relation words
/// and ";"). Prompts split on whitespace; ";" is split off as a word of its own. Id 0 is padding; the empty prompt is
/// all padding, the unconditional ("null") prompt of classifier-free guidance. Words are compared case-insensitively.
/// </summary>
public sealed class PromptTokenizer
{
    /// <summary>The padding id; a sequence of only padding is the null prompt.</summary>
    public const int PadId = 0;
    /// <summary>The prompt separator, tokenized as a word of its own.</summary>
    public const string Separator = ";";

    readonly Dictionary<string, int> ids;

    /// <param name="vocabulary">The words, each once; word i gets id i + 1. Include ";" if prompts join triples with it.</param>
    /// <param name="maxLength">Sequence length after padding. Defaults to 32 (room for three triples and two separators).</param>
    public PromptTokenizer(IEnumerable<string> vocabulary, int maxLength = 32)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be at least 1");
        var words = vocabulary.Select(w => w.Trim().ToLowerInvariant()).ToList();
        if (words.Count == 0) throw new ArgumentException("the vocabulary is empty", nameof(vocabulary));
        foreach (var w in words)
            if (w.Length == 0 || (w != Separator && (w.Any(char.IsWhiteSpace) || w.Contains(Separator, StringComparison.Ordinal))))
                throw new ArgumentException($"vocabulary word \"{w}\" must be one word without whitespace or ';' (or exactly \";\")", nameof(vocabulary));
        var duplicate = words.GroupBy(w => w).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"vocabulary word \"{duplicate.Key}\" appears more than once", nameof(vocabulary));
        Vocabulary = words;
        MaxLength = maxLength;
        ids = words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i + 1);
    }

    /// <summary>The words in id order (id = index + 1), lower-cased.</summary>
    public IReadOnlyList<string> Vocabulary { get; }
    /// <summary>Sequence length of every encoded prompt.</summary>
    public int MaxLength { get; }
    /// <summary>Number of ids including padding: the text encoder's embedding table size.</summary>
    public int IdCount => Vocabulary.Count + 1;

    /// <summary>The words of a prompt, ";" split off as its own word.</summary>
    public static IReadOnlyList<string> Split(string prompt) =>
        prompt.Replace(Separator, $" {Separator} ", StringComparison.Ordinal)
              .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
              .Select(w => w.ToLowerInvariant()).ToList();

    /// <summary>Token ids of one prompt, padded to <see cref="MaxLength"/>.</summary>
    /// <exception cref="PromptTokenizerException">A word is not in the vocabulary, or the prompt has too many words.</exception>
    public int[] EncodeOne(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var words = Split(prompt);
        if (words.Count > MaxLength)
            throw new PromptTokenizerException($"prompt has {words.Count} words, more than the maximum {MaxLength}: \"{prompt}\"");
        var result = new int[MaxLength];
        for (var i = 0; i < words.Count; i++)
            result[i] = ids.TryGetValue(words[i], out var id) ? id
                : throw new PromptTokenizerException($"unknown word \"{words[i]}\" at position {i} (0-based, counting \";\") in prompt \"{prompt}\"; the vocabulary has: {string.Join(" ", Vocabulary)}");
        return result;
    }

    /// <summary>Token ids (B, <see cref="MaxLength"/>), int64. "" encodes the null prompt. The caller owns the result.</summary>
    public Tensor Encode(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var flat = new long[prompts.Count * MaxLength];
        for (var b = 0; b < prompts.Count; b++)
        {
            var row = EncodeOne(prompts[b]);
            for (var i = 0; i < MaxLength; i++) flat[b * MaxLength + i] = row[i];
        }
        return tensor(flat, [prompts.Count, MaxLength], int64);
    }

    /// <summary>The words of an id sequence, padding dropped; the inverse of <see cref="EncodeOne"/> up to spacing.</summary>
    public string Decode(IEnumerable<int> tokenIds)
    {
        var sb = new StringBuilder();
        foreach (var id in tokenIds.Where(i => i != PadId))
        {
            if (id < 1 || id > Vocabulary.Count) throw new ArgumentOutOfRangeException(nameof(tokenIds), id, $"ids run from 0 to {Vocabulary.Count}");
            var w = Vocabulary[id - 1];
            if (sb.Length > 0 && w != Separator) sb.Append(' ');
            sb.Append(w);
        }
        return sb.ToString();
    }
}
