using System.Globalization;

namespace RlRig.LaionSg;

/// <summary>
/// Invented LAION-SG records shaped like the real ones (3-12 items with 0-3 attributes, 2-10 relations, captions,
/// string scores, example.invalid URLs) for benchmarks and tests. Deterministic: the same seed gives the same
/// records (System.Random with a seed is stable).
/// </summary>
public static class LaionSgSynthetic
{
    private static readonly string[] Labels =
    [
        "tower", "bridge", "lantern", "building", "tree", "river", "boat", "mountain", "cloud", "bird", "cat", "dog",
        "woman", "man", "car", "street", "window", "door", "flower", "vase", "table", "chair", "lamp", "book",
    ];

    private static readonly string[] Attributes =
    [
        "red", "blue", "green", "tall", "small", "wooden", "stone", "glowing", "old", "modern", "arched", "white",
        "dark", "bright", "multi-story", "round", "large", "golden",
    ];

    private static readonly string[] Predicates =
    [
        "left of", "right of", "above", "below", "near", "on", "under", "behind", "in front of", "attached to",
        "hanging from", "next to", "holding", "in",
    ];

    /// <summary>An endless-as-needed lazy sequence of <paramref name="count"/> records.</summary>
    public static IEnumerable<LaionSgRecord> Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(seed);
        for (int n = 0; n < count; n++) yield return Record(random, n);
    }

    /// <summary>Writes <paramref name="count"/> records to <paramref name="path"/> (atomically).</summary>
    public static void Write(string path, int count, int seed) => LaionSgWriter.Write(path, Generate(count, seed));

    private static LaionSgRecord Record(Random random, int n)
    {
        int itemCount = random.Next(3, 13);
        var items = new LaionSgItem[itemCount];
        for (int i = 0; i < itemCount; i++)
        {
            var attributes = new string[random.Next(0, 4)];
            for (int a = 0; a < attributes.Length; a++) attributes[a] = Pick(random, Attributes);
            items[i] = new LaionSgItem(i, Pick(random, Labels), attributes, random.Next(0, 1_000_000));
        }
        var relations = new LaionSgRelation[random.Next(2, 11)];
        for (int t = 0; t < relations.Length; t++)
        {
            int item1 = random.Next(itemCount);
            int item2 = (item1 + 1 + random.Next(itemCount - 1)) % itemCount;
            relations[t] = new LaionSgRelation(t, item1, Pick(random, Predicates), item2, random.Next(0, 1_000_000));
        }
        string imgId = (100_000 + n).ToString(CultureInfo.InvariantCulture);
        string caption = $"{items[0].Label} {relations[0].Relation} {items[relations[0].Item2].Label}, synthetic record {n}";
        string score = (6.5 + random.NextDouble() * 2).ToString("R", CultureInfo.InvariantCulture);
        long hash = random.NextInt64(1_000_000_000_000_000_000, long.MaxValue);
        return new LaionSgRecord(imgId, $"{hash}.jpg", caption, score, $"https://example.invalid/synthetic/{hash}.jpg", items, relations);
    }

    private static string Pick(Random random, string[] words) => words[random.Next(words.Length)];
}
