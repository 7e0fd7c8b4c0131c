using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>Normalisation layers with their affine parameters explicitly set to the identity (weight 1, bias 0).</summary>
/// <remarks>
/// TorchSharp 0.107's GroupNorm allocates its weight and bias without initialising them: the values are whatever the
/// allocator returns (seen as 1e21 and NaN), which made fresh models output NaN at random. Setting them here does not
/// depend on that being fixed, and does the same for LayerNorm so both stay correct whatever the version.
/// </remarks>
internal static class Norms
{
    public static GroupNorm GroupNorm(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        Reset(norm.weight, norm.bias);
        return norm;
    }

    public static LayerNorm LayerNorm(int dim)
    {
        var norm = nn.LayerNorm(dim);
        Reset(norm.weight, norm.bias);
        return norm;
    }

    static void Reset(Tensor? weight, Tensor? bias)
    {
        using var noGrad = no_grad();
        weight?.fill_(1.0);
        bias?.zero_();
    }
}
