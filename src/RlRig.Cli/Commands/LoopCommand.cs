using System.CommandLine;
using RlRig.IO;
using RlRig.Loop;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig loop</c>: one Generate-Reflect-Edit run on one prompt, saved as a trace.</summary>
static class LoopCommand
{
    public static Command Create()
    {
        var prompt = new Option<string>("--prompt") { Description = "The prompt, in the shapes world's words: \"small red circle left of large blue square; ...\".", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Most edit rounds (K).", DefaultValueFactory = _ => new LoopOptions().MaxRounds }.InRange(0, 32);
        var seed = new Option<int>("--seed") { Description = "Seed of the generation and of every edit.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for trace.json, one PNG per round and trace.html.", Required = true };
        var setup = new LoopSetup();
        var command = new Command("loop", "Run the Generate-Reflect-Edit loop on one prompt: generate, reflect, and up to K times act, edit and reflect again; keep the best image by the Checker's score.")
        {
            prompt, rounds, seed, output,
        };
        foreach (var option in setup.All) command.Options.Add(option);
        // On a thread of its own, so that System.CommandLine installs its Ctrl+C handler (it does once the action returns
        // its task) and the work stops between batches with what it has written kept.
        command.SetAction((result, cancel) => Task.Run(async () =>
        {
            SceneGraph target;
            try
            {
                target = SceneGraph.ParsePrompt(result.GetValue(prompt)!, WorldVocabulary.Prompt);
                if (target.Items.Count == 0) throw new ArgumentException("the prompt names no object; write e.g. \"small red circle left of large blue square\"");
                SceneConsistency.Check(target);
                foreach (var item in target.Items) WorldObject.From(item);
            }
            catch (Exception e) when (e is PromptParseException or ArgumentException)
            {
                Console.Error.WriteLine($"rlrig loop: --prompt: {RlRig.IO.TerminalText.Escape(e.Message)}");
                return ExitCodes.InvalidData;
            }
            try
            {
                var options = new LoopOptions { MaxRounds = result.GetValue(rounds) }.Validate();
                setup.RequireFiles(result);
                var folder = OutputPolicy.RequireFolder(result.GetValue(output)!.ToString(), "--out",
                    [LoopTraceFile.FileName, "trace.html", .. Enumerable.Range(0, options.MaxRounds + 1).Select(LoopTraceFile.ImageName)], [], setup.Inputs(result));
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                using var parts = setup.Load(result);
                var loop = new GenerateReflectEditLoop(parts.Diffuser, parts.Checker, parts.Actor, parts.Editor, options);
                var traces = await loop.RunAsync([new GenerationRequest(target, result.GetValue(seed))], cancel);
                using var trace = traces[0];
                LoopTraceFile.Save(trace, folder);
                AtomicFile.WriteAllText(Path.Combine(folder, "trace.html"), TraceHtml.Page($"rlrig loop: {trace.Target.ToPromptText()}", [TraceHtml.Fragment(trace)]));
                Console.Write(TraceHtml.PlainText(trace));
                Console.WriteLine($"Wrote {Path.Combine(folder, LoopTraceFile.FileName)}, {trace.Rounds.Count} PNGs and trace.html");
                return ExitCodes.Ok;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("rlrig loop: interrupted; nothing written");
                return ExitCodes.Interrupted;
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return CommandErrors.Report("rlrig loop", e);
            }
        }, CancellationToken.None));
        return command;
    }
}
