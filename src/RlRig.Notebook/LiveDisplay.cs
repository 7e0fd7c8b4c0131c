using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace RlRig.Notebook;

/// <summary>
/// An output that later updates replace in place: a live loss chart, a progress line. Each update is published under the
/// original output's id, which <c>rlrig run</c> and Jupyter match to replace it; dotnet-repl 0.3.259 appends every update
/// as a new output instead, which nothing on this side can change (environment.md, "Live displays").
/// (.NET Interactive 1.0.0-beta.26120.1's own <c>display(x).Update(y)</c> publishes the update under a different id than
/// the original output, so there every host shows every update as a new output.)
/// </summary>
public sealed class LiveDisplay
{
    readonly KernelInvocationContext context;
    readonly string id = Guid.NewGuid().ToString("N");

    LiveDisplay(KernelInvocationContext context) => this.context = context;

    /// <summary>Shows <paramref name="value"/> in the running cell and returns the handle that updates it.</summary>
    /// <exception cref="InvalidOperationException">Called outside a notebook cell.</exception>
    public static LiveDisplay Show(object value)
    {
        var context = KernelInvocationContext.Current
            ?? throw new InvalidOperationException("LiveDisplay.Show must be called from a notebook cell.");
        var live = new LiveDisplay(context);
        context.Publish(new DisplayedValueProduced(value, context.Command, FormattedValue.CreateManyFromObject(value), live.id));
        return live;
    }

    /// <summary>Replaces the shown value with <paramref name="value"/>.</summary>
    public void Update(object value) =>
        context.Publish(new DisplayedValueUpdated(value, id, context.Command, FormattedValue.CreateManyFromObject(value)));
}
