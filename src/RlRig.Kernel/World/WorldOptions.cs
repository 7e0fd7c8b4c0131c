namespace RlRig.World;

/// <summary>The shapes world's settings. Immutable; vary with <c>with</c>; checked by <see cref="Validate"/>.</summary>
public sealed record WorldOptions
{
    /// <summary>Side of the square canvas in pixels. Defaults to 32; 64 also works (sizes scale with it). Range 16-256.</summary>
    public int CanvasSize { get; init; } = 32;

    /// <summary>Fewest objects in a sampled scene. Defaults to 2; at least 2 (a relation needs two objects).</summary>
    public int MinObjects { get; init; } = 2;

    /// <summary>Most objects in a sampled scene. Defaults to 4; at most 5 (more do not fit a 32 px canvas reliably).</summary>
    public int MaxObjects { get; init; } = 4;

    /// <summary>Most relations in a sampled scene. Defaults to 3. Scenes of n objects get n - 1 (a spanning tree) up to this.</summary>
    public int MaxRelations { get; init; } = 3;

    /// <summary>Whether the sampler uses "near" besides the four positions. Defaults to false.</summary>
    public bool IncludeNear { get; init; }

    /// <summary>Side of a small object as a fraction of the canvas. Defaults to 0.22 (7 px at 32).</summary>
    public double SmallFraction { get; init; } = 0.22;

    /// <summary>Side of a large object as a fraction of the canvas. Defaults to 0.34 (11 px at 32).</summary>
    public double LargeFraction { get; init; } = 0.34;

    /// <summary>Attempts the layout solver makes before giving up on a graph. Defaults to 5000.</summary>
    public int LayoutAttempts { get; init; } = 5000;

    /// <summary>The background colour (near white, so every palette colour stands out).</summary>
    public WorldColour Background { get; init; } = new("background", 248, 248, 248);

    public int SmallSide => (int)Math.Round(SmallFraction * CanvasSize);

    public int LargeSide => (int)Math.Round(LargeFraction * CanvasSize);

    public int Side(bool large) => large ? LargeSide : SmallSide;

    /// <summary>The predicates the sampler draws from.</summary>
    public IReadOnlyList<string> SampledPredicates => IncludeNear ? WorldVocabulary.Predicates : WorldVocabulary.Predicates.Take(4).ToList();

    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message says which and how to fix it.</exception>
    public WorldOptions Validate()
    {
        if (CanvasSize is < 16 or > 256) throw new ArgumentOutOfRangeException(nameof(CanvasSize), CanvasSize, "use 16 to 256 pixels (32 is the default)");
        if (MinObjects < 2) throw new ArgumentOutOfRangeException(nameof(MinObjects), MinObjects, "a scene needs at least 2 objects");
        if (MaxObjects < MinObjects || MaxObjects > 5) throw new ArgumentOutOfRangeException(nameof(MaxObjects), MaxObjects, $"use {MinObjects} to 5");
        if (MaxRelations < MaxObjects - 1) throw new ArgumentOutOfRangeException(nameof(MaxRelations), MaxRelations, $"must be at least MaxObjects - 1 = {MaxObjects - 1} so every object can take part in a relation");
        if (!(SmallFraction > 0 && SmallFraction < LargeFraction && LargeFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(LargeFraction), LargeFraction, "need 0 < SmallFraction < LargeFraction <= 0.5");
        if (SmallSide < 4) throw new ArgumentOutOfRangeException(nameof(SmallFraction), SmallFraction, $"small objects would be {SmallSide} px; use a larger fraction or canvas");
        if (LayoutAttempts < 1) throw new ArgumentOutOfRangeException(nameof(LayoutAttempts), LayoutAttempts, "must be at least 1");
        return this;
    }
}
