using RlRig.Diffusion;

namespace RlRig.World;

/// <summary>
/// The recipe of the shapes world's Diffuser where it differs from the library's defaults (which stay as they were, so
/// older files load as they were trained): the architecture and the training options of the committed checkpoint.
/// <c>rlrig train diffuser</c> starts from it, <c>rlrig bench diffuser</c> measures it, notebook 02 trains it live.
/// </summary>
public static class ShapesWorldDiffuser
{
    /// <summary>
    /// The architecture: the library's U-Net and text encoder over the world's words, padding masked out of attention,
    /// and a 3-word causal convolution that binds each phrase's colour and size to its shape.
    /// </summary>
    public static DiffuserConfig Config(WorldOptions world) => new()
    {
        ImageSize = world.CanvasSize,
        Vocabulary = WorldVocabulary.Words,
        MaskPadding = true,
        TextConvWidth = 3,
    };

    /// <summary>
    /// Weight of the grounding loss (<see cref="DiffuserTrainerOptions.GroundingWeight"/>): the world knows every object's
    /// box, so the U-Net's attention to each object's words is taught to stay on that object.
    /// </summary>
    public const double GroundingWeight = 0.05;
}
