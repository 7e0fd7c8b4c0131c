using System.Text.Json.Nodes;
using NJsonSchema;

namespace RlRig.Tests.Notebooks;

/// <summary>The official nbformat 4.5 JSON schema (jupyter/nbformat, BSD-3-Clause, a draft-04 schema), copied beside this file.</summary>
static class NbformatSchema
{
    static readonly JsonSchema Schema = Load();

    /// <summary>Asserts that <paramref name="json"/> is a valid nbformat 4.5 notebook, listing every violation if not.</summary>
    public static void AssertValid(string json)
    {
        var errors = Schema.Validate(json);
        Assert.True(errors.Count == 0, "not valid nbformat 4.5:\n" + string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind} {e.Property}")));
    }

    // NJsonSchema resolves "#/definitions/x" but not the schema's nested "#/definitions/misc/x"; hoist those one level up.
    static JsonSchema Load()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Notebooks", "nbformat.v4.schema.json"));
        var schema = JsonNode.Parse(text)!.AsObject();
        var definitions = schema["definitions"]!.AsObject();
        var misc = definitions["misc"]!.AsObject();
        foreach (var (name, definition) in misc.ToList()) definitions["misc_" + name] = definition!.DeepClone();
        definitions.Remove("misc");
        var flattened = schema.ToJsonString().Replace("#/definitions/misc/", "#/definitions/misc_");
        return JsonSchema.FromJsonAsync(flattened).GetAwaiter().GetResult();
    }
}
