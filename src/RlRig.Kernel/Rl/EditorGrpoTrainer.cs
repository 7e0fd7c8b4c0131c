using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Editors;
using RlRig.World;

namespace RlRig.Rl;

/// <summary>
/// Editor-GRPO: Reflection-GRPO on an editor's chain, DDPO/Flow-GRPO style. For each (image, instruction) of the pool
/// (instructions the Actor wrote in real loop rollouts on training prompts), G edits are drawn by the editor's stochastic
/// DDIM chain, and the reward is the Checker's judgement that the instruction holds and the untouched objects stayed
/// (<see cref="EditFidelity"/>); the starting weights are the frozen reference of the KL term. The judge is never asked.
/// The chain (<see cref="EditorGrpoOptions.Chain"/>) is the learned editor's (<see cref="EditorPolicy"/>: the model is an
/// editor checkpoint) or the training-free editor's region chain (<see cref="InpaintPolicy"/>: the model is a copy of
/// the Diffuser that only the editor's passes use).
/// </summary>
/// <remarks>
/// The run folder holds <see cref="CheckpointPath"/> (+ manifest: an ordinary editor or Diffuser checkpoint, loaded by
/// <see cref="DiffuserCheckpoint.Load(string)"/>), <c>training-state.bin</c> and <c>tensorboard/</c>. Build it and
/// enumerate <see cref="TrainAsync"/> on one thread.
/// </remarks>
public sealed class EditorGrpoTrainer : IGrpoPoolTrainer
{
    readonly GrpoRun<EditRequest, EditChainSample> run;

    /// <param name="editor">The policy's weights, trained in place: the supervised editor, or for the inpainting chain the Diffuser.</param>
    /// <param name="reference">A frozen copy of them (the KL's reference).</param>
    /// <param name="pool">(image, instruction, the Checker's reflection) pairs; those whose instruction cannot apply to what the Checker read (or, for the inpainting chain, that the training-free editor cannot plan) are left out.</param>
    /// <param name="cancellationToken">Stops <see cref="EditorGrpoOptions.FilterPool"/>'s scoring (minutes) with an <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException">Invalid options, or too few usable pairs.</exception>
    /// <exception cref="GrpoCheckpointException">Resume was asked for and the training state is missing, damaged, or of another run.</exception>
    public EditorGrpoTrainer(TextToImageDiffuser editor, TextToImageDiffuser reference, IChecker checker, WorldOptions world, IReadOnlyList<EditRequest> pool, EditorGrpoOptions options,
        CancellationToken cancellationToken = default)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        Editor = editor ?? throw new ArgumentNullException(nameof(editor));
        ArgumentNullException.ThrowIfNull(checker);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        var policy = Policy(editor, world, options);
        var frozen = Policy(reference, world, options);
        List<EditRequest> usable = [.. pool.Where(r => EditFidelity.ExpectedScene(world, r.Reflection, r.Instruction) is not null
            && (policy is not InpaintPolicy inpaint || InpaintPolicy.CanAct(inpaint.Editor, r)))];
        var grpo = new GrpoTrainer<EditRequest, EditChainSample>(policy, [EditFidelity.Reward<EditChainSample>(checker, world, s => s.Image)], options.Grpo, frozen);
        try
        {
            CollectedPoolSize = usable.Count;
            // Before GrpoRun loads a resumed run's weights: the pairs are scored by the starting weights, so a resume keeps them.
            if (options.FilterPool) usable = Informative(grpo, usable, options, cancellationToken);
            run = new GrpoRun<EditRequest, EditChainSample>(grpo, editor, usable, options.Run, options.Identity(), (folder, step) =>
            {
                var path = CheckpointPath(folder, options.Chain);
                DiffuserCheckpoint.Save(path, editor, step);
                return path;
            });
        }
        catch { grpo.Dispose(); throw; }
    }

    public EditorGrpoOptions Options { get; }
    public TextToImageDiffuser Editor { get; }
    public int PoolSize => run.PoolSize;
    /// <summary>The usable pairs before <see cref="EditorGrpoOptions.FilterPool"/> kept the informative ones (<see cref="PoolSize"/> without it).</summary>
    public int CollectedPoolSize { get; }
    public int Step => run.Step;

    /// <summary>The inference checkpoint in a run folder: <c>editor.ckpt</c>, or for the inpainting chain <c>diffuser.ckpt</c> (it is a Diffuser).</summary>
    public static string CheckpointPath(string outputDir, EditorChain chain = EditorChain.Instruct) =>
        Path.Combine(outputDir, chain == EditorChain.Inpaint ? "diffuser.ckpt" : "editor.ckpt");

    // DAPO's dynamic sampling, once and up front: G edits of every pair by the starting weights, and only the pairs whose
    // group GRPO gives an advantage kept (GroupAdvantages decides: different rewards, at least two valid). A pair the
    // chain always carries out (or always fails) gives every step a group of equal rewards, no advantage and no
    // gradient; on the inpainting chain that was 65-82 % of groups. Seeds are negative, apart from the steps'.
    static List<EditRequest> Informative(GrpoTrainer<EditRequest, EditChainSample> grpo, IReadOnlyList<EditRequest> pool, EditorGrpoOptions options, CancellationToken ct)
    {
        var (g, per) = (options.Grpo.NumGenerations, options.Grpo.StatesPerBatch);
        var kept = new List<EditRequest>();
        for (var from = 0; from < pool.Count; from += per)
        {
            ct.ThrowIfCancellationRequested();
            var chunk = pool.Skip(from).Take(per).ToList();
            var advantages = grpo.ScoreAsync(chunk, -1 - (options.Run.Seed * 1_000_003 + from), ct).GetAwaiter().GetResult().Advantages.Advantages;
            kept.AddRange(chunk.Where((_, k) => advantages.Skip(k * g).Take(g).Any(a => a != 0)));
        }
        return kept;
    }

    static IGrpoPolicy<EditRequest, EditChainSample> Policy(TextToImageDiffuser model, WorldOptions world, EditorGrpoOptions options) => options.Chain == EditorChain.Inpaint
        ? new InpaintPolicy(new TrainingFreeEditor(new DiffusionPipeline(model), world, options.Inpainting), options.TrainedStepFraction, options.ShareInitialNoise)
        : new EditorPolicy(new ImageEditPipeline(model), options.Sampling, options.TrainedStepFraction, options.ShareInitialNoise);

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
