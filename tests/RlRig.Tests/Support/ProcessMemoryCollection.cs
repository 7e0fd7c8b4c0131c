namespace RlRig.Tests.Support;

/// <summary>
/// Tests that measure the whole process's memory (GC heap, RSS) run alone: objects that tests running beside them
/// hold alive would be counted as growth.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "process memory";
}
