using RlRig.Loop;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Loop;

/// <summary>
/// TEST ONLY: components that know what every image they made shows, so the loop's logic (stopping, keeping the best,
/// counting compute, tracing) is tested without models. The "Diffuser" draws each prompt with a shuffled layout, the
/// "Checker" looks up what an image shows, and the "editor" applies instructions geometrically.
/// </summary>
sealed class FakeWorld
{
    readonly Dictionary<Image<Rgb24>, List<SceneItem>> shown = new(ReferenceEqualityComparer.Instance);
    public WorldOptions World { get; } = new();
    public int GenerateNfe { get; init; } = 40;
    public int EditNfe { get; init; } = 80;
    /// <summary>Makes every edit fail (the editor "cannot" carry it out).</summary>
    public bool EditsFail { get; init; }
    /// <summary>Makes every edit move the first object to the canvas's corner instead (an editor that breaks things).</summary>
    public bool EditsScramble { get; init; }

    Image<Rgb24> Draw(IReadOnlyList<SceneItem> items)
    {
        var image = ShapeRenderer.Render(new SceneGraph(items, []), World);
        lock (shown) shown[image] = items.ToList();
        return image;
    }

    public sealed class Diffuser(FakeWorld w) : IDiffuser
    {
        public Task<IReadOnlyList<GeneratedImage>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult<IReadOnlyList<GeneratedImage>>(requests.Select(r =>
            {
                // A layout of the prompt's objects that ignores its relations: random but seeded.
                var placed = SceneLayout.Place(new SceneGraph(r.Target.Items, []), w.World, new Random(r.Seed));
                return new GeneratedImage(w.Draw(placed.Items), w.GenerateNfe);
            }).ToList());
        }
    }

    public sealed class Checker(FakeWorld w) : IChecker
    {
        public int Calls { get; private set; }

        public Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default)
        {
            Calls++;
            lock (w.shown) return Task.FromResult<IReadOnlyList<Reflection>>(images.Select((im, i) => Reflection.Compare(targets[i], w.shown[im])).ToList());
        }
    }

    public sealed class Editor(FakeWorld w) : IInverseDiffuser
    {
        public Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<EditOutcome>>(requests.Select(r =>
            {
                List<SceneItem> items;
                lock (w.shown) items = w.shown[r.Image];
                if (w.EditsFail) return new EditOutcome(w.Draw(items), 0, "cannot");
                var after = w.EditsScramble ? items.Select((it, i) => i == 0 ? it with { Box = new Box(0, 0, it.Box!.Width, it.Box.Height) } : it).ToList()
                    : SceneEdit.Apply(w.World, items, r.Instruction);
                return after is null ? new EditOutcome(w.Draw(items), 0, "no such object") : new EditOutcome(w.Draw(after), w.EditNfe);
            }).ToList());
    }
}
