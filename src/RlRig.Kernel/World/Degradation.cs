namespace RlRig.World;

/// <summary>
/// Damage applied to a rendered image to test the judge the way generated images challenge it: Gaussian pixel noise,
/// Gaussian blur and colour jitter (a random per-channel gain and offset). Strength 0 leaves the image unchanged.
/// </summary>
/// <param name="NoiseStd">Standard deviation of per-pixel Gaussian noise, in [0, 1] pixel units.</param>
/// <param name="BlurSigma">Gaussian blur standard deviation in pixels (0 = none).</param>
/// <param name="ColourJitter">Largest per-channel gain change (as a fraction) and offset, drawn uniformly per image.</param>
public sealed record Degradation(double NoiseStd, double BlurSigma, double ColourJitter)
{
    public static Degradation None { get; } = new(0, 0, 0);

    /// <summary>Named strengths used by the judge's accuracy report: light, medium, strong.</summary>
    public static IReadOnlyList<(string Name, Degradation Degradation)> Levels { get; } =
    [
        ("clean", None),
        ("light", new(0.03, 0.5, 0.05)),
        ("medium", new(0.06, 0.8, 0.10)),
        ("strong", new(0.10, 1.1, 0.15)),
    ];

    /// <summary>Returns a damaged copy of an HWC buffer in [0, 1], clamped to [0, 1].</summary>
    public float[] Apply(float[] hwc, int size, Random random)
    {
        var image = BlurSigma > 0 ? Blur(hwc, size, BlurSigma) : (float[])hwc.Clone();
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
