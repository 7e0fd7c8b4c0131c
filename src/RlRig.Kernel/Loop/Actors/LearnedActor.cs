using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.World;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Actors;

/// <summary>An Actor checkpoint cannot be read or does not fit; the message names the file and what is wrong.</summary>
public sealed class ActorCheckpointException(string message, Exception? inner = null) : CheckpointException(message, inner);

/// <summary>How the learned Actor decodes (TRL's generation options where they exist).</summary>
public sealed record LearnedActorOptions
{
    /// <summary>Softmax temperature, > 0. The reported log-probabilities are of the distribution at this temperature. Defaults to 1.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Sample only among the k most likely tokens; 0 = all. Defaults to 0.</summary>
    public int TopK { get; init; }
    /// <summary>Sample only among the most likely tokens whose probabilities add up to p (nucleus), in (0, 1]; 1 = all. Defaults to 1.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Most tokens generated, the end token included (TRL's max_completion_length); a sequence cut there is invalid. Defaults to 24.</summary>
    public int MaxCompletionLength { get; init; } = 24;
    /// <summary>Take the most likely token at every step instead of sampling. Defaults to false.</summary>
    public bool Greedy { get; init; }
    /// <summary>Mixed into every state's generator (see <see cref="LearnedActor.Sample"/>). Defaults to 0.</summary>
    public long Seed { get; init; }
    /// <summary>Sequences decoded together in one forward pass. Defaults to 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    public LearnedActorOptions Validate()
    {
        void Require(bool ok, string name, string how) { if (!ok) throw new ArgumentException($"LearnedActorOptions.{name}: {how}", name); }
        Require(double.IsFinite(Temperature) && Temperature > 0, nameof(Temperature), $"{Temperature} must be > 0 (1 samples the model as trained; use Greedy for the most likely tokens)");
        Require(TopK >= 0, nameof(TopK), $"{TopK} must be >= 0 (0 = no top-k)");
        Require(TopP is > 0 and <= 1, nameof(TopP), $"{TopP} must be in (0, 1] (1 = no nucleus)");
        Require(MaxCompletionLength >= 1, nameof(MaxCompletionLength), $"{MaxCompletionLength} must be at least 1 (instructions take up to about 20 tokens)");
        Require(BatchSize >= 1, nameof(BatchSize), $"{BatchSize} must be at least 1");
        return this;
    }
}

/// <summary>
/// One sampled instruction: the proposal (text, parsed instruction, per-token log-probabilities) and the generated
/// token ids, the end token included when it was written: <see cref="LearnedActor.Score"/> takes them back.
/// </summary>
public sealed record ActorSample(ActorProposal Proposal, IReadOnlyList<int> TokenIds);

/// <summary>
/// Per-token log-probabilities (B, L) of given completions, with gradients when grad mode is on, and their mask (B, L)
/// (true on the completion's tokens). The caller disposes both.
/// </summary>
public sealed record ActorLogProbs(Tensor LogProbs, Tensor Mask) : IDisposable
{
    public void Dispose()
    {
        LogProbs.Dispose();
        Mask.Dispose();
    }
}

/// <summary>
/// The learned Actor: a stochastic policy over instructions of the edit language (<see cref="ActorNet"/> reading
/// <see cref="ActorTokens.State"/>), with exact log-probabilities for Reflection-GRPO. <see cref="Sample"/> draws G
/// instructions per state with each token's log-probability; <see cref="Score"/> gives the log-probabilities of given
/// completions under the current weights (the ratio and the KL to a frozen reference copy); greedy decoding is
/// <see cref="LearnedActorOptions.Greedy"/>. Output that does not parse, or that has no end token within
/// <see cref="LearnedActorOptions.MaxCompletionLength"/>, is an <see cref="InvalidEdit"/>, never an exception.
/// </summary>
/// <remarks>
/// The log-probabilities are those of the distribution at the options' temperature, before top-k and top-p truncation,
/// as TRL reports them: <see cref="Score"/> at the same temperature gives the same numbers for the same tokens.
/// Sampling is reproducible per state: each state's draws come from its own generator, seeded by the options' seed and
/// a hash of the state's tokens, so a state gets the same instructions whatever it is batched with (the loop's seeds
/// change the images, hence the states). Build it and call it on one thread.
/// </remarks>
public sealed class LearnedActor : IActor, IDisposable
{
    internal const string InferenceMagic = "RLRIGAC2";

    /// <summary>Wraps a model (which this Actor then owns and disposes).</summary>
    public LearnedActor(ActorNet model, WorldOptions world, LearnedActorOptions? options = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        World = (world ?? throw new ArgumentNullException(nameof(world))).Validate();
        Options = (options ?? new LearnedActorOptions()).Validate();
    }

    public ActorNet Model { get; }
    public WorldOptions World { get; }
    public LearnedActorOptions Options { get; init; }
    /// <summary>The file it was loaded from, or null.</summary>
    public string? Path { get; private init; }
    /// <summary>Training steps behind the weights (0 when not loaded from a file).</summary>
    public int Step { get; private init; }

    /// <summary>The committed checkpoint, relative to the repository root.</summary>
    public const string RelativePath = "data/shapes-world/actor/actor.ckpt";

    /// <summary>The committed Reflection-GRPO checkpoint (<c>rlrig train actor-grpo</c>), relative to the repository root.</summary>
    public const string GrpoRelativePath = "data/shapes-world/actor-grpo/actor.ckpt";

    /// <inheritdoc />
    public Task<IReadOnlyList<ActorProposal>> ActAsync(IReadOnlyList<ActorState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<ActorProposal> proposals = [.. Sample(states.Select(s => s.Reflection).ToList(), 1).Select(g => g[0].Proposal)];
        return Task.FromResult(proposals);
    }

    /// <summary>
    /// <paramref name="g"/> instructions for each reflection (with <paramref name="options"/>, or the Actor's), each with
    /// its per-token log-probabilities. A state too long for the model's context gives G invalid proposals.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<ActorSample>> Sample(IReadOnlyList<Reflection> states, int g, LearnedActorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentOutOfRangeException.ThrowIfLessThan(g, 1);
        options = (options ?? Options).Validate();
        var results = new ActorSample[states.Count][];
        var rows = new List<(int State, int[] Prompt, Random Random)>();
        for (var s = 0; s < states.Count; s++)
        {
            results[s] = new ActorSample[g];
            var prompt = Prompt(states[s], options.MaxCompletionLength, out var problem);
            if (prompt is null)
            {
                for (var k = 0; k < g; k++) results[s][k] = new ActorSample(new ActorProposal("", new InvalidEdit("", problem!), []), []);
                continue;
            }
            var random = new Random(StateSeed(prompt, options.Seed));
            for (var k = 0; k < g; k++) rows.Add((s, prompt, random));
        }
        var filled = new int[states.Count];
        foreach (var chunk in rows.Chunk(options.BatchSize))
            foreach (var (row, sample) in chunk.Zip(Generate(chunk.Select(r => (r.Prompt, r.Random, states[r.State])).ToList(), options)))
                results[row.State][filled[row.State]++] = sample;
        return results;
    }

    // Draws one completion per row; every row's choices come from its own Random, in step order.
    List<ActorSample> Generate(IReadOnlyList<(int[] Prompt, Random Random, Reflection State)> rows, LearnedActorOptions options)
    {
        var (n, p, vocab) = (rows.Count, rows.Max(r => r.Prompt.Length), Model.Config.VocabSize);
        var generated = rows.Select(_ => new List<int>()).ToList();
        var logProbs = rows.Select(_ => new List<double>()).ToList();
        var done = new bool[n];
        Model.eval();
        using (no_grad())
        {
            for (var step = 0; step < options.MaxCompletionLength && done.Contains(false); step++)
            {
                float[] lp;
                using (NewDisposeScope())
                {
                    var (ids, valid) = Layout(rows.Select(r => r.Prompt).ToList(), generated, p);
                    var last = Model.call(ids, valid)[.., -1, ..];                                         // (N, V)
                    lp = nn.functional.log_softmax(Tempered(last, options.Temperature), -1).data<float>().ToArray(); // (N * V)
                }
                for (var i = 0; i < n; i++)
                {
                    if (done[i]) continue;
                    var row = lp.AsSpan(i * vocab, vocab);
                    var token = options.Greedy ? ArgMax(row) : Draw(row, options.TopK, options.TopP, rows[i].Random);
                    generated[i].Add(token);
                    logProbs[i].Add(row[token]);
                    done[i] = token == ActorTokens.EndId;
                }
            }
        }
        return [.. generated.Select((ids, i) => new ActorSample(ActorTokens.Proposal(ids, rows[i].State, Model.Config.References, World, logProbs[i]), ids))];
    }

    /// <summary>
    /// The per-token log-probabilities of <paramref name="completions"/> (token ids as <see cref="ActorSample.TokenIds"/>)
    /// after <paramref name="states"/>, at <paramref name="temperature"/> (null: the options'), under the current weights,
    /// in one forward pass; with gradients unless called under no_grad. Row i is completion i, left-aligned, padded to the
    /// longest; the mask is true on real tokens.
    /// </summary>
    /// <exception cref="ArgumentException">Counts differ, or a state plus its completion does not fit the context.</exception>
    public ActorLogProbs Score(IReadOnlyList<Reflection> states, IReadOnlyList<IReadOnlyList<int>> completions, double? temperature = null)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(completions);
        if (states.Count != completions.Count) throw new ArgumentException($"{states.Count} states but {completions.Count} completions; give one per state", nameof(completions));
        var t = temperature ?? Options.Temperature;
        var length = Math.Max(1, completions.Max(c => c.Count));
        var prompts = states.Select(s => Prompt(s, length, out var problem) ?? throw new ArgumentException(problem, nameof(states))).ToList();
        var p = prompts.Max(x => x.Length);
        using var scope = NewDisposeScope();
        var (ids, valid) = Layout(prompts, completions, p);
        var logits = Model.call(ids, valid)[.., (p - 1)..(p - 1 + length), ..];                    // (B, L, V): position p - 1 + j predicts token j
        var targets = tensor(completions.SelectMany(c => c.Concat(Enumerable.Repeat(0, length - c.Count))).Select(x => (long)x).ToArray(), [completions.Count, length]);
        var mask = tensor(completions.SelectMany(c => Enumerable.Range(0, length).Select(j => j < c.Count)).ToArray(), [completions.Count, length]);
        var logProbs = nn.functional.log_softmax(Tempered(logits, t), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1) * mask.to(float32);  // (B, L)
        return new ActorLogProbs(logProbs.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    // The state's tokens, or null (with why) when it cannot be read or leaves no room for a completion of `length`.
    int[]? Prompt(Reflection state, int length, out string? problem)
    {
        problem = null;
        try
        {
            var ids = ActorTokens.StateIds(state, World);
            if (ids.Length + length <= Model.Config.ContextLength) return ids;
            problem = $"the state takes {ids.Length} tokens; with {length} for the instruction that exceeds the Actor's context of {Model.Config.ContextLength}";
        }
        catch (ArgumentException e) { problem = $"the state cannot be read by the learned Actor: {e.Message}"; }
        return null;
    }

    // Prompts left-padded to p (so every completion starts at position p), completions right-padded: (N, p + L) ids and mask.
    static (Tensor Ids, Tensor Valid) Layout(IReadOnlyList<int[]> prompts, IReadOnlyList<IReadOnlyList<int>> completions, int p)
    {
        var length = p + completions.Max(c => c.Count);
        var (ids, valid) = (new long[prompts.Count * length], new bool[prompts.Count * length]);
        for (var i = 0; i < prompts.Count; i++)
        {
            var start = i * length + p - prompts[i].Length;
            for (var j = 0; j < prompts[i].Length; j++) (ids[start + j], valid[start + j]) = (prompts[i][j], true);
            for (var j = 0; j < completions[i].Count; j++) (ids[i * length + p + j], valid[i * length + p + j]) = (completions[i][j], true);
        }
        return (tensor(ids, [prompts.Count, length]), tensor(valid, [prompts.Count, length]));
    }

    // Logits over the temperature. Not `logits / t`: that call's implicit Scalar was once freed under libtorch mid-call
    // ("Unknown scalar type" in THSTensor_div_scalar, after 400 prompts of an evaluation), so the divisor is a tensor,
    // and temperature 1 divides by nothing.
    static Tensor Tempered(Tensor logits, double temperature)
    {
        if (temperature == 1.0) return logits.alias();
        using var t = tensor((float)temperature);
        return logits / t;
    }

    static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    // Samples from the log-probabilities restricted to the top k, then to the nucleus of mass p, renormalised.
    static int Draw(ReadOnlySpan<float> logProbs, int topK, double topP, Random random)
    {
        var order = Enumerable.Range(0, logProbs.Length).ToArray();
        var values = logProbs.ToArray();
        Array.Sort(values.Select(v => -v).ToArray(), order);
        var keep = topK > 0 ? Math.Min(topK, order.Length) : order.Length;
        if (topP < 1)
        {
            double mass = 0;
            for (var i = 0; i < keep; i++)
                if ((mass += Math.Exp(values[order[i]])) >= topP) { keep = i + 1; break; }
        }
        var total = 0.0;
        for (var i = 0; i < keep; i++) total += Math.Exp(values[order[i]]);
        var u = random.NextDouble() * total;
        for (var i = 0; i < keep; i++)
            if ((u -= Math.Exp(values[order[i]])) < 0) return order[i];
        return order[keep - 1];
    }

    static int StateSeed(int[] prompt, long seed)
    {
        var bytes = new byte[prompt.Length * 4 + 8];
        Buffer.BlockCopy(prompt, 0, bytes, 0, prompt.Length * 4);
        BitConverter.GetBytes(seed).CopyTo(bytes, prompt.Length * 4);
        return BitConverter.ToInt32(SHA256.HashData(bytes));
    }

    public void Dispose() => Model.Dispose();

    // ---- Checkpoints (the project's format, CheckpointFile) ----

    static ActorCheckpointException Error(string message, Exception? inner) => new(message, inner);

    /// <summary>The manifest written beside a checkpoint.</summary>
    public static string ManifestPath(string checkpointPath) => checkpointPath + ".manifest.json";

    /// <summary>Writes <paramref name="model"/>'s weights (float32: the log-probabilities GRPO compares are the trained ones) atomically, with its manifest beside it.</summary>
    public static void Save(string path, ActorNet model, int step, JsonNode? options = null)
    {
        var header = new JsonObject
        {
            ["format"] = "rlrig-actor-inference",
            ["step"] = step,
            ["parameters"] = model.ParameterCount,
            ["weights_dtype"] = "float32",
            ["vocabulary"] = VocabularyJson(),
            ["config"] = JsonNode.Parse(model.Config.ToJson()),
        };
        CheckpointFile.Write(path, InferenceMagic, header, payload =>
        {
            using var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
            model.save(w);
        });
        CheckpointFile.WriteManifest(path, step, model.ParameterCount, "float32", JsonNode.Parse(model.Config.ToJson())!, options);
    }

    /// <summary>Reads an Actor checkpoint (its integrity checked by length and SHA-256). The caller disposes the result.</summary>
    /// <exception cref="ActorCheckpointException">Missing, truncated, damaged, of another vocabulary, or not an Actor checkpoint; the one-line message says which.</exception>
    public static LearnedActor Load(string path, WorldOptions world, LearnedActorOptions? options = null)
    {
        var (header, payload) = CheckpointFile.Read(path, InferenceMagic, "an Actor checkpoint", Error);
        CheckpointFile.RequireManifestAgrees(path, ManifestPath(path), Error);
        var config = ConfigFrom(path, header);
        var model = new ActorNet(config);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload));
            CheckpointFile.LoadWeights(path, model, reader, "weights", Error);
            return new LearnedActor(model, world, options) { Path = System.IO.Path.GetFullPath(path), Step = header["step"]?.GetValue<int>() ?? 0 };
        }
        catch { model.Dispose(); throw; }
    }

    internal static JsonArray VocabularyJson() => [.. ActorTokens.Words.Select(w => JsonValue.Create(w))];

    internal static ActorConfig ConfigFrom(string path, JsonObject header)
    {
        try
        {
            var words = header["vocabulary"]?.AsArray().Select(w => w!.GetValue<string>()).ToList();
            if (words is null || !words.SequenceEqual(ActorTokens.Words))
                throw new ActorCheckpointException($"checkpoint {path} was trained with another vocabulary than this build's {ActorTokens.Words.Count} words; retrain it (rlrig train actor)");
            var config = header["config"]!.AsObject();
            // Written before the field existed: those Actors wrote every reference in words.
            if (!config.ContainsKey(nameof(ActorConfig.References))) (config = config.DeepClone().AsObject())[nameof(ActorConfig.References)] = nameof(ActorReferences.Words);
            return ActorConfig.FromJson(config.ToJsonString()).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new ActorCheckpointException($"checkpoint {path} has an unreadable configuration: {e.Message}", e);
        }
    }
}
