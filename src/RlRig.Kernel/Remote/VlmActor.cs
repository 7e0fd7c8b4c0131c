using RlRig.Loop;
using RlRig.World;

namespace RlRig.Remote;

/// <summary>Which instructions a VLM Actor writes: the shapes world's edit language, or open text for an instruction-following editor.</summary>
public enum ActorLanguage { Shapes, Open }

/// <summary>
/// An instruction in plain language for an instruction-following image editor ("move the lantern to the left of the
/// door"), as a VLM Actor writes it for open-vocabulary scenes (LAION-SG). Only <see cref="Remote.HttpImageEditor"/>
/// carries it out; the shapes world's editors report it as an edit they cannot make.
/// </summary>
public sealed record OpenEdit(string Text) : EditInstruction
{
    public override string ToText() => Text;
}

/// <summary>
/// The Actor as a VLM: it is shown the image, the target and the Checker's reflection (<c>actor.txt</c>) and answers
/// <c>{"instruction": "..."}</c>. In the shapes world the instruction is parsed with <see cref="EditLanguage"/>; in open
/// scenes it is an <see cref="OpenEdit"/>, and "done" is <see cref="NoEdit"/> in both. A reply that is not such JSON
/// becomes an <see cref="InvalidEdit"/> holding the raw reply and the reason, which the loop counts: never an exception.
/// </summary>
public sealed class VlmActor(VlmClient client, ActorLanguage language) : IActor
{
    public const string SchemaName = "rlrig_actor_reply";

    public const string Schema = """{"type":"object","properties":{"instruction":{"type":"string"}},"required":["instruction"]}""";

    static readonly string[] Placeholders = ["target_prompt", "reflection", "language"];

    readonly PromptTemplate template = client.Template(PromptTemplate.Actor, Placeholders);

    public VlmClient Client => client;

    public async Task<IReadOnlyList<ActorProposal>> ActAsync(IReadOnlyList<ActorState> states, CancellationToken cancellationToken = default) =>
        await Task.WhenAll(states.Select(s => ActOne(s, cancellationToken)));

    async Task<ActorProposal> ActOne(ActorState state, CancellationToken cancellationToken)
    {
        var prompt = template.Fill(new Dictionary<string, string>
        {
            ["target_prompt"] = state.Target.ToPromptText(),
            ["reflection"] = state.Reflection.Text,
            ["language"] = Grammar(language),
        });
        var reply = await client.AskAsync(prompt, [state.Image], SchemaName, Schema, cancellationToken);
        if (reply.Json is null) return new ActorProposal(reply.Text, new InvalidEdit(reply.Text, reply.ParseError!));
        if (reply.Json["instruction"] is not System.Text.Json.Nodes.JsonValue v || !v.TryGetValue<string>(out var text))
        {
            client.CountUnparsed();
            return new ActorProposal(reply.Text, new InvalidEdit(reply.Text, "the reply has no \"instruction\" text"));
        }
        return new ActorProposal(text, Parse(text, language));
    }

    /// <summary>An instruction's text as the loop takes it in <paramref name="language"/>.</summary>
    public static EditInstruction Parse(string text, ActorLanguage language)
    {
        if (language == ActorLanguage.Shapes) return EditLanguage.Parse(text);
        var trimmed = text.Trim().TrimEnd('.').Trim();
        if (trimmed.Length == 0) return new InvalidEdit(text, "the instruction is empty");
        if (trimmed.Length > EditLanguage.MaxChars) return new InvalidEdit(text, $"the instruction is too long ({trimmed.Length} characters; at most {EditLanguage.MaxChars})");
        return trimmed.Equals("done", StringComparison.OrdinalIgnoreCase) ? new NoEdit() : new OpenEdit(trimmed);
    }

    // What the template's {{language}} says about the form of an instruction.
    static string Grammar(ActorLanguage language) => language switch
    {
        ActorLanguage.Shapes => "Write it in this language, one line, words only from the scene:\n"
            + "move the [size] [colour] shape (left of|right of|above|below|near) the [size] [colour] shape\n"
            + "move the [size] [colour] shape to (x, y)    (x, y in [0, 1]: the new centre as fractions of the image)\n"
            + "recolour the [size] [colour] shape colour\nresize the [size] [colour] shape to (small|large)\n"
            + "remove the [size] [colour] shape\nadd a size colour shape (left of|right of|above|below|near) the [size] [colour] shape\n"
            + $"Sizes: {WorldVocabulary.Small}, {WorldVocabulary.Large}. Colours: {string.Join(", ", WorldVocabulary.Colours.Select(c => c.Name))}. "
            + $"Shapes: {string.Join(", ", WorldVocabulary.Shapes.Select(WorldVocabulary.Label))}.",
        _ => "Write it as one short imperative sentence naming the object and the change, e.g. \"move the red lantern to the left of the wooden door\".",
    };
}
