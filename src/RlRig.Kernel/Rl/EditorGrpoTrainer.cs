using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.World;

namespace RlRig.Rl;

/// <summary>
/// Editor-GRPO: Reflection-GRPO on the learned editor, DDPO/Flow-GRPO style. For each (image, instruction) of the pool
/// (instructions the Actor wrote in real loop rollouts on training prompts), G edits are drawn by the editor's stochastic
/// DDIM chain (<see cref="EditorPolicy"/>), and the reward is the Checker's judgement that the instruction holds and the
/// untouched objects stayed (<see cref="EditFidelity"/>); the supervised editor is the frozen reference of the KL term.
/// The judge is never asked.
/// </summary>
/// <remarks>
/// The run folder holds <c>editor.ckpt</c> (+ manifest: an ordinary editor checkpoint, loaded by
/// <see cref="DiffuserCheckpoint.Load(string)"/>), <c>training-state.bin</c> and <c>tensorboard/</c>. Build it and
/// enumerate <see cref="TrainAsync"/> on one thread.
/// </remarks>
public sealed class EditorGrpoTrainer : IGrpoPoolTrainer
{
    readonly GrpoRun<EditRequest, EditChainSample> run;

    /// <param name="editor">The policy, starting from the supervised editor; trained in place.</param>
    /// <param name="reference">A frozen copy of the supervised editor (the KL's reference).</param>
    /// <param name="pool">(image, instruction, the Checker's reflection) pairs; those whose instruction cannot apply to what the Checker read are left out.</param>
    /// <exception cref="ArgumentException">Invalid options, or too few usable pairs.</exception>
    /// <exception cref="GrpoCheckpointException">Resume was asked for and the training state is missing, damaged, or of another run.</exception>
    public EditorGrpoTrainer(TextToImageDiffuser editor, TextToImageDiffuser reference, IChecker checker, WorldOptions world, IReadOnlyList<EditRequest> pool, EditorGrpoOptions options)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        Editor = editor ?? throw new ArgumentNullException(nameof(editor));
        ArgumentNullException.ThrowIfNull(checker);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        List<EditRequest> usable = [.. pool.Where(r => EditFidelity.ExpectedScene(world, r.Reflection, r.Instruction) is not null)];
        var policy = new EditorPolicy(new ImageEditPipeline(editor), options.Sampling, options.TrainedStepFraction, options.ShareInitialNoise);
        var frozen = new EditorPolicy(new ImageEditPipeline(reference), options.Sampling, options.TrainedStepFraction, options.ShareInitialNoise);
        var grpo = new GrpoTrainer<EditRequest, EditChainSample>(policy, [EditFidelity.Reward<EditChainSample>(checker, world, s => s.Image)], options.Grpo, frozen);
        try
        {
            run = new GrpoRun<EditRequest, EditChainSample>(grpo, editor, usable, options.Run, options.Identity(), (folder, step) =>
            {
                var path = CheckpointPath(folder);
                DiffuserCheckpoint.Save(path, editor, step);
                return path;
            });
        }
        catch { grpo.Dispose(); throw; }
    }

    public EditorGrpoOptions Options { get; }
    public TextToImageDiffuser Editor { get; }
    public int PoolSize => run.PoolSize;
    public int Step => run.Step;

    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, "editor.ckpt");

    /// <summary>Trains to the run's last step, a report after every step; on cancellation it writes a checkpoint and ends normally.</summary>
    public IAsyncEnumerable<GrpoProgress> TrainAsync(CancellationToken ct = default) => run.TrainAsync(ct);

    /// <summary>The options of the run in <paramref name="outputDir"/>, for a resume.</summary>
    public static EditorGrpoOptions ReadRun(string outputDir)
    {
        var (runOptions, _, identity) = GrpoRun<EditRequest, EditChainSample>.ReadRun(outputDir);
        try { return EditorGrpoOptions.From(identity, runOptions); }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
        {
            throw new GrpoCheckpointException($"{GrpoRun<EditRequest, EditChainSample>.TrainingStatePath(outputDir)} is not an editor-GRPO run: {e.Message}", e);
        }
    }

    public void Dispose() => run.Dispose();
}
