using System.CommandLine;
using RlRig.Cli.Commands;

var root = new RootCommand("rlrig: the RL-RIG research environment (Generate-Reflect-Edit, Reflection-GRPO) for spatial reasoning in image generation.")
{
    RunCommand.Create(),
    DoctorCommand.Create(),
    WorldCommand.Create(),
    TrainCommand.Create(),
    EvalCommand.Create(),
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
