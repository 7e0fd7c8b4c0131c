using RlRig.Diffusion;
using RlRig.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Editors;

/// <summary>Options of <see cref="LearnedEditor"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record LearnedEditorOptions
{
    /// <summary>DDIM steps of the full chain (the Diffuser's grid). Defaults to 20.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>
    /// Text guidance sT: how strongly the edit follows the instruction. Defaults to 2: on validation scenes (seed 3000)
    /// the committed x0 editor succeeded on 18.5 % of edits of renders and 12.0 % of samples at 2, against 13.0 % / 4.0 %
    /// at 1 and 11.1 % / 8.0 % at 3 (sI 1; data/shapes-world/README.md).
    /// </summary>
    public double GuidanceScale { get; init; } = 2.0;

    /// <summary>
    /// Image guidance sI: how closely the result keeps the source image; 1 = none. Defaults to 1: for the committed x0
    /// editor, which predicts the change from its source, InstructPix2Pix's 1.5 extrapolates away from the no-image
    /// prediction and did worse on validation scenes (7.4 % / 4.0 % of edits succeeded against 11.1 % / 8.0 %, sT 3).
    /// </summary>
    public double ImageGuidanceScale { get; init; } = 1.0;

    /// <summary>DDIM eta: 1, DDPM's fresh noise at every step, as the Diffuser samples; &gt; 0 is what Reflection-GRPO needs. Defaults to 1.</summary>
    public double Eta { get; init; } = 1.0;

    /// <summary>
    /// Fraction of the chain run, in (0, 1]; below 1 the chain starts from the source image noised to that level (SDEdit)
    /// and spends fewer NFE. Defaults to 0.5 (30 NFE with 20 steps), the start the committed editor trains for (t = 499,
    /// <see cref="ShapesWorldEditor.MaxTimestep"/>): on validation scenes (seed 3000) it carried out more edits than at
    /// 0.3 or 0.4 (data/shapes-world/README.md).
    /// </summary>
    public double Strength { get; init; } = 0.5;

    /// <summary>Edits per forward pass (3 times as many images go through the U-Net with guidance). Defaults to 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Denoiser evaluations of one edit (3 per step run with guidance).</summary>
    public int Nfe => ImageEditPipeline.Nfe(Steps, Strength, ImageGuidanceScale, GuidanceScale);

    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public LearnedEditorOptions Validate()
    {
        if (Steps is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "sampling steps must be in [1, 1000]");
        if (!double.IsFinite(GuidanceScale) || GuidanceScale is < 0 or > 50) throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, "text guidance must be finite and in [0, 50] (1 = none)");
        if (!double.IsFinite(ImageGuidanceScale) || ImageGuidanceScale is < 0 or > 50) throw new ArgumentOutOfRangeException(nameof(ImageGuidanceScale), ImageGuidanceScale, "image guidance must be finite and in [0, 50] (1 = none)");
        if (!double.IsFinite(Eta) || Eta is < 0 or > 10) throw new ArgumentOutOfRangeException(nameof(Eta), Eta, "eta must be finite and in [0, 10]");
        if (!(Strength > 0 && Strength <= 1)) throw new ArgumentOutOfRangeException(nameof(Strength), Strength, "strength must be in (0, 1]");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        return this;
    }
}

/// <summary>
/// The Inverse Diffuser as a trained model: an instruction-following diffusion editor (InstructPix2Pix) that reads the
/// image and the instruction's words and draws the edited image whole (<see cref="ImageEditPipeline"/>). It ignores the
/// reflection: where things are is for the model to see. Each edit's noise comes from a generator seeded by the
/// request's seed, so an edit is the same in any batch. "done" and text that does not parse are not edited (0 NFE).
/// </summary>
public sealed class LearnedEditor : IInverseDiffuser
{
    public LearnedEditor(ImageEditPipeline pipeline, LearnedEditorOptions? options = null)
    {
        Pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        Options = (options ?? new LearnedEditorOptions()).Validate();
    }

    public ImageEditPipeline Pipeline { get; }
    public LearnedEditorOptions Options { get; }

    public Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var outcomes = new EditOutcome?[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var failure = requests[i].Instruction switch
            {
                InvalidEdit invalid => $"the instruction does not parse: {invalid.Reason}",
                NoEdit => "the instruction asks for no edit",
                _ => null,
            };
            if (failure is not null) outcomes[i] = new EditOutcome(requests[i].Image.Clone(), 0, failure);
        }
        var todo = Enumerable.Range(0, requests.Count).Where(i => outcomes[i] is null).ToList();
        foreach (var chunk in todo.Chunk(Options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var (i, image) in chunk.Zip(Edit(chunk.Select(i => requests[i]).ToList(), cancellationToken)))
                outcomes[i] = new EditOutcome(image, Options.Nfe);
        }
        return Task.FromResult<IReadOnlyList<EditOutcome>>(outcomes.Select(o => o!).ToList());
    }

    IReadOnlyList<Image<Rgb24>> Edit(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken)
    {
        var generators = requests.Select(r => new Generator((ulong)r.Seed, CPU)).ToList();
        try
        {
            using var scope = NewDisposeScope();
            var sources = stack(requests.Select(r => TensorImages.ToTensor(r.Image, PixelRange.MinusOneToOne)).ToArray());
            var o = Options;
            using var result = Pipeline.Edit(sources, [.. requests.Select(r => EditorTrainingData.Prompt(r.Instruction))], generators,
                o.Steps, o.ImageGuidanceScale, o.GuidanceScale, o.Eta, o.Strength, batchSize: o.BatchSize, cancellationToken: cancellationToken);
            return result.ToImages();
        }
        finally { foreach (var g in generators) g.Dispose(); }
    }
}
