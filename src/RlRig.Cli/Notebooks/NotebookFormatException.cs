namespace RlRig.Cli.Notebooks;

/// <summary>A notebook file that cannot be read; the message names the file and, where it can, the cell and what is wrong.</summary>
public sealed class NotebookFormatException(string message, Exception? inner = null) : Exception(message, inner);
