namespace RlRig.World;

/// <summary>
/// Damage applied to a rendered image to test the judge the way generated images challenge it: ragged object edges (as
/// the Diffuser draws them), then Gaussian blur, colour jitter (a random per-channel gain and offset) and Gaussian
/// pixel noise. Strength 0 of every part leaves the image unchanged. <see cref="Apply"/> is deterministic given the
/// <see cref="Random"/>, and a part at strength 0 draws nothing from it.
/// </summary>
/// <param name="NoiseStd">Standard deviation of per-pixel Gaussian noise, in [0, 1] pixel units.</param>
/// <param name="BlurSigma">Gaussian blur standard deviation in pixels (0 = none).</param>
/// <param name="ColourJitter">Largest per-channel gain change (as a fraction) and offset, drawn uniformly per image.</param>
/// <param name="RaggedEdges">Strength in [0, 1] of ragged and soft object edges (0 = none, 1 = as bad as the Diffuser's
/// worst common case); see <see cref="Ragged"/>.</param>
public sealed record Degradation(double NoiseStd, double BlurSigma, double ColourJitter, double RaggedEdges = 0)
{
    public static Degradation None { get; } = new(0, 0, 0);

    /// <summary>Named strengths used by the judge's accuracy report. "ragged" is "light" plus ragged edges at strength 1,
    /// so its row minus light's is what the edges cost; the other levels have no ragged edges and mean what they always did.</summary>
    public static IReadOnlyList<(string Name, Degradation Degradation)> Levels { get; } =
    [
        ("clean", None),
        ("light", new(0.03, 0.5, 0.05)),
        ("medium", new(0.06, 0.8, 0.10)),
        ("strong", new(0.10, 1.1, 0.15)),
        ("ragged", new(0.03, 0.5, 0.05, RaggedEdges: 1.0)),
    ];

    /// <summary>Returns a damaged copy of an HWC buffer in [0, 1], clamped to [0, 1].</summary>
    public float[] Apply(float[] hwc, int size, Random random)
    {
        if (RaggedEdges is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(RaggedEdges), RaggedEdges, "use 0 to 1");
        var source = RaggedEdges > 0 ? Ragged(hwc, size, RaggedEdges, random) : hwc;
        var image = BlurSigma > 0 ? Blur(source, size, BlurSigma) : (float[])source.Clone();
        var gain = Enumerable.Range(0, 3).Select(_ => 1 + ColourJitter * (2 * random.NextDouble() - 1)).ToArray();
        var offset = Enumerable.Range(0, 3).Select(_ => ColourJitter * (2 * random.NextDouble() - 1) / 2).ToArray();
        for (var i = 0; i < image.Length; i++)
        {
            var c = i % 3;
            var v = image[i] * gain[c] + offset[c] + (NoiseStd > 0 ? NoiseStd * Gaussian(random) : 0);
            image[i] = (float)Math.Clamp(v, 0, 1);
        }
        return image;
    }

    /// <summary>
    /// Ragged and soft edges, as the Diffuser draws them, on an image of flat objects over a flat background (a render).
    /// Each object (a connected region of one colour, found by its colour against the border's median) is redrawn from
    /// its coverage mask after three changes, each with a probability that scales with <paramref name="strength"/>:
    /// <list type="number">
    /// <item>a faint partial row or column just outside each of its four sides (probability 0.4 each): a contiguous run
    /// covering 40-100 % of the outermost line's length, each pixel tinted with the object's colour at coverage 0.3-0.7;</item>
    /// <item>edge pixels eroded (an object pixel next to the background loses 30-70 % of its coverage, probability 0.15)
    /// and dilated (a background pixel next to the object gains coverage 0.3-0.7, probability 0.15);</item>
    /// <item>the mask blurred with a Gaussian of sigma 0.45 px (soft edges).</item>
    /// </list>
    /// Returns a new buffer; deterministic given <paramref name="random"/>.
    /// </summary>
    public static float[] Ragged(float[] hwc, int size, double strength, Random random)
    {
        if (hwc.Length != size * size * 3) throw new ArgumentException($"expected {size}x{size}x3 values, got {hwc.Length}", nameof(hwc));
        var n = size * size;
        var bg = ShapesJudge.BorderMedian(hwc, size);
        double Dist2(int i, double[] c) { double s = 0; for (var k = 0; k < 3; k++) { var d = hwc[3 * i + k] - c[k]; s += d * d; } return s; }
        var distance = new double[n];
        for (var i = 0; i < n; i++) distance[i] = Math.Sqrt(Dist2(i, bg));
        // Each pixel's object colour: the pixel farthest from the background within 2 px (an interior pixel of the object).
        var colourOf = new int[n];
        for (var i = 0; i < n; i++)
        {
            var (x, y, best) = (i % size, i / size, i);
            for (var dy = -2; dy <= 2; dy++)
                for (var dx = -2; dx <= 2; dx++)
                {
                    var (nx, ny) = (x + dx, y + dy);
                    if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
                    if (distance[ny * size + nx] > distance[best]) best = ny * size + nx;
                }
            colourOf[i] = distance[best] > 0.1 ? best : -1;
        }
        double[] Colour(int i) => [hwc[3 * i], hwc[3 * i + 1], hwc[3 * i + 2]];
        // Coverage: the pixel's projection on the background-to-colour line.
        var mask = new double[n];
        for (var i = 0; i < n; i++)
        {
            if (colourOf[i] < 0) continue;
            var c = Colour(colourOf[i]);
            double dot = 0, norm = 0;
            for (var k = 0; k < 3; k++) { var d = c[k] - bg[k]; dot += (hwc[3 * i + k] - bg[k]) * d; norm += d * d; }
            mask[i] = Math.Clamp(dot / norm, 0, 1);
        }
        bool SameColour(int a, int b) => Math.Sqrt(Dist2(a, Colour(b))) < 0.15; // a and b are pixels holding an object's colour
        bool Same(int i, int j) => colourOf[i] >= 0 && colourOf[j] >= 0 && SameColour(colourOf[i], colourOf[j]);
        // Objects: 8-connected pixels of one colour covered at least half.
        var component = new int[n];
        Array.Fill(component, -1);
        var objects = new List<List<int>>();
        for (var start = 0; start < n; start++)
        {
            if (mask[start] < 0.5 || component[start] >= 0) continue;
            var pixels = new List<int>();
            var stack = new Stack<int>([start]);
            component[start] = objects.Count;
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                pixels.Add(i);
                for (var dy = -1; dy <= 1; dy++)
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        var (nx, ny) = (i % size + dx, i / size + dy);
                        if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
                        var j = ny * size + nx;
                        if (component[j] < 0 && mask[j] >= 0.5 && Same(i, j)) { component[j] = objects.Count; stack.Push(j); }
                    }
            }
            objects.Add(pixels);
        }
        var changed = (double[])mask.Clone();
        var objectColour = (int[])colourOf.Clone();
        void Tint(int i, double coverage, int colour, int owner)
        {
            if (coverage <= changed[i]) return;
            if (changed[i] > 0.05 && objectColour[i] >= 0 && !SameColour(objectColour[i], colour)) return; // never paint over another object
            for (var dy = -1; dy <= 1; dy++) // nor bridge the gap to another object (merging is not an edge's fault)
                for (var dx = -1; dx <= 1; dx++)
                {
                    var (nx, ny) = (i % size + dx, i / size + dy);
                    if (nx >= 0 && ny >= 0 && nx < size && ny < size && component[ny * size + nx] is var other && other >= 0 && other != owner) return;
                }
            changed[i] = coverage;
            objectColour[i] = colour;
        }
        double Uniform(double lo, double hi) => lo + (hi - lo) * random.NextDouble();
        for (var owner = 0; owner < objects.Count; owner++)
        {
            var pixels = objects[owner];
            var colour = colourOf[pixels[0]];
            // 1. Faint partial lines outside each side: top, bottom, left, right.
            var (left, right) = (pixels.Min(i => i % size), pixels.Max(i => i % size));
            var (top, bottom) = (pixels.Min(i => i / size), pixels.Max(i => i / size));
            foreach (var (vertical, line, outside) in new[] { (true, top, top - 1), (true, bottom, bottom + 1), (false, left, left - 1), (false, right, right + 1) })
            {
                if (random.NextDouble() >= 0.4 * strength) continue;
                var along = pixels.Where(i => (vertical ? i / size : i % size) == line).Select(i => vertical ? i % size : i / size).ToList();
                var (from, to) = (along.Min(), along.Max());
                var length = Math.Max(1, (int)Math.Round(Uniform(0.4, 1.0) * (to - from + 1)));
                var first = from + random.Next(to - from + 2 - length);
                for (var a = first; a < first + length; a++)
                {
                    var coverage = Uniform(0.3, 0.7);
                    if (outside < 0 || outside >= size) continue;
                    Tint(vertical ? outside * size + a : a * size + outside, coverage, colour, owner);
                }
            }
            // 2. Erosion and dilation of edge pixels.
            var inObject = pixels.ToHashSet();
            var outsideNeighbours = new SortedSet<int>();
            foreach (var i in pixels)
            {
                var edge = false;
                foreach (var (dx, dy) in new[] { (1, 0), (-1, 0), (0, 1), (0, -1) })
                {
                    var (nx, ny) = (i % size + dx, i / size + dy);
                    if (nx < 0 || ny < 0 || nx >= size || ny >= size || inObject.Contains(ny * size + nx)) continue;
                    edge = true;
                    outsideNeighbours.Add(ny * size + nx);
                }
                if (edge && random.NextDouble() < 0.15 * strength) changed[i] *= Uniform(0.3, 0.7);
            }
            foreach (var j in outsideNeighbours)
                if (random.NextDouble() < 0.15 * strength) Tint(j, Uniform(0.3, 0.7), colour, owner);
        }
        // 3. Soft edges: blur the coverage mask, then redraw every pixel from it.
        var soft = BlurMask(changed, size, 0.45 * strength);
        var result = (float[])hwc.Clone();
        for (var i = 0; i < n; i++)
        {
            if (objectColour[i] < 0) continue;
            var c = Colour(objectColour[i]);
            for (var k = 0; k < 3; k++) result[3 * i + k] = (float)Math.Clamp(bg[k] + soft[i] * (c[k] - bg[k]), 0, 1);
        }
        return result;
    }

    static double[] BlurMask(double[] mask, int size, double sigma)
    {
        if (sigma <= 0) return mask;
        var radius = (int)Math.Ceiling(3 * sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(d => Math.Exp(-d * d / (2 * sigma * sigma))).ToArray();
        var sum = kernel.Sum();
        double[] Pass(double[] src, bool horizontal)
        {
            var dst = new double[src.Length];
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    double acc = 0;
                    for (var k = -radius; k <= radius; k++)
                    {
                        var (sx, sy) = horizontal ? (Math.Clamp(x + k, 0, size - 1), y) : (x, Math.Clamp(y + k, 0, size - 1));
                        acc += kernel[k + radius] / sum * src[sy * size + sx];
                    }
                    dst[y * size + x] = acc;
                }
            return dst;
        }
        return Pass(Pass(mask, horizontal: true), horizontal: false);
    }

    static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    // Separable Gaussian blur with edge clamping.
    static float[] Blur(float[] hwc, int size, double sigma)
    {
        var radius = (int)Math.Ceiling(3 * sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(d => Math.Exp(-d * d / (2 * sigma * sigma))).ToArray();
        var sum = kernel.Sum();
        for (var i = 0; i < kernel.Length; i++) kernel[i] /= sum;
        float[] Pass(float[] src, bool horizontal)
        {
            var dst = new float[src.Length];
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                    for (var c = 0; c < 3; c++)
                    {
                        double acc = 0;
                        for (var k = -radius; k <= radius; k++)
                        {
                            var (sx, sy) = horizontal ? (Math.Clamp(x + k, 0, size - 1), y) : (x, Math.Clamp(y + k, 0, size - 1));
                            acc += kernel[k + radius] * src[3 * (sy * size + sx) + c];
                        }
                        dst[3 * (y * size + x) + c] = (float)acc;
                    }
            return dst;
        }
        return Pass(Pass(hwc, horizontal: true), horizontal: false);
    }
}
