using System.CommandLine;
using System.CommandLine.Invocation;
using RlRig.Cli.Commands;

var root = new RootCommand("rlrig: the RL-RIG research environment (Generate-Reflect-Edit, Reflection-GRPO) for spatial reasoning in image generation.")
{
    RunCommand.Create(),
    EvalSgCommand.Create(),
    LaionSgCommand.Create(),
    BenchCommand.Create(),
    DoctorCommand.Create(),
    WorldCommand.Create(),
    TrainCommand.Create(),
    EvalCommand.Create(),
    LoopCommand.Create(),
};
root.Options.Add(TopLevelErrors.VerboseOption);
var parsed = root.Parse(args);
// A bad value is one line naming the flag, like every other refusal; the whole help after it buried that line.
if (parsed.Action is ParseErrorAction parseError) parseError.ShowHelp = false;
int exitCode;
try
{
    // Ctrl+C cancels the command's token; the default 2 s grace would kill a training step before its checkpoint is
    // written, so commands get time to finish the step, save and return. System.CommandLine's own exception handler
    // prints the raw trace: TopLevelErrors words it as one line instead.
    exitCode = await parsed.InvokeAsync(new InvocationConfiguration
    {
        ProcessTerminationTimeout = TimeSpan.FromMinutes(2),
        EnableDefaultExceptionHandler = false,
    });
}
catch (Exception e)
{
    return TopLevelErrors.Report(parsed, e);
}
// System.CommandLine prints the errors and help for a bad command line and returns 1, which RlRig keeps for invalid
// data; scripts must be able to tell the two apart (ExitCodes).
return parsed.Action is ParseErrorAction ? ExitCodes.UsageOrIo : exitCode;
