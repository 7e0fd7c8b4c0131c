using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Loop;

// The four parts of RL-RIG's Generate-Reflect-Edit loop. Each takes a batch and a CancellationToken so that a model
// behind HTTP (a VLM as Checker or Actor, an image-editing server) implements it unchanged; none knows of notebooks.
// Images are the caller's: a component never disposes what it is given, and the caller disposes what it gets back.

/// <summary>The Diffuser: draws an image for a target scene graph (its prompt text) from a seed.</summary>
public interface IDiffuser
{
    /// <summary>One image per request, in request order. The same request gives the same image.</summary>
    Task<IReadOnlyList<GeneratedImage>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default);
}

/// <summary>The Checker: compares an image with the target scene graph and writes a <see cref="Reflection"/>.</summary>
public interface IChecker
{
    /// <summary>One reflection per (image, target) pair, in order.</summary>
    Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default);
}

/// <summary>
/// The Actor: turns a reflection into an edit instruction, written in the edit language (<see cref="EditLanguage"/>).
/// A learned policy returns its sampled text with the log-probability of each token, which Reflection-GRPO needs.
/// </summary>
public interface IActor
{
    /// <summary>One proposal per state, in order.</summary>
    Task<IReadOnlyList<ActorProposal>> ActAsync(IReadOnlyList<ActorState> states, CancellationToken cancellationToken = default);
}

/// <summary>The Inverse Diffuser: edits an image as an instruction says, with a generative model (never by pasting pixels).</summary>
public interface IInverseDiffuser
{
    /// <summary>One outcome per request, in order.</summary>
    Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default);
}

/// <summary>What the Diffuser is asked to draw: the target graph (as its prompt text) and the seed of all its noise.</summary>
public sealed record GenerationRequest(SceneGraph Target, int Seed);

/// <summary>A generated image and the denoiser evaluations it cost (NFE; classifier-free guidance counts 2 per step).</summary>
public sealed record GeneratedImage(Image<Rgb24> Image, int Nfe);

/// <summary>What the Actor sees: the target, the Checker's reflection on the current image, and the image itself.</summary>
public sealed record ActorState(SceneGraph Target, Reflection Reflection, Image<Rgb24> Image);

/// <summary>
/// An Actor's answer: the instruction as text, what it parses to (an <see cref="InvalidEdit"/> when it does not parse),
/// and, for a sampling policy, the log-probability of each generated token (null for a rule).
/// </summary>
public sealed record ActorProposal(string Text, EditInstruction Instruction, IReadOnlyList<double>? TokenLogProbs = null)
{
    /// <summary>Builds a proposal from text, parsing it with the edit language.</summary>
    public static ActorProposal FromText(string text, IReadOnlyList<double>? tokenLogProbs = null) => new(text, EditLanguage.Parse(text), tokenLogProbs);

    /// <summary>The sequence's log-probability (the sum over tokens), or null for a proposal that was not sampled.</summary>
    public double? LogProb => TokenLogProbs?.Sum();
}

/// <summary>
/// What the Inverse Diffuser is asked to do. <paramref name="Reflection"/> carries the Checker's reading of the image
/// (objects with boxes), which a region-based editor uses to find the object the instruction names; an
/// instruction-following model may ignore it.
/// </summary>
public sealed record EditRequest(Image<Rgb24> Image, EditInstruction Instruction, Reflection Reflection, int Seed);

/// <summary>
/// An edited image, the denoiser evaluations it cost, and why the edit could not be made when it could not (the image is
/// then the input, unchanged, and <paramref name="Nfe"/> is 0).
/// </summary>
public sealed record EditOutcome(Image<Rgb24> Image, int Nfe, string? Failure = null)
{
    public bool Applied => Failure is null;
}
