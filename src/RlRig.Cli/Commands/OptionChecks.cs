using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RlRig.Cli.Commands;

/// <summary>
/// Range checks for numeric options, attached to the option itself so that System.CommandLine reports a bad value as a
/// parse error (exit 2, <see cref="ExitCodes.UsageOrIo"/>) before the command's action starts, in one wording for every
/// command: "--guidance must be a finite number &gt;= 0 (got NaN)". Each returns the option, for use in initialisers:
/// <c>var steps = new Option&lt;int&gt;("--steps") { ... }.AtLeast(1);</c>
/// </summary>
static class OptionChecks
{
    /// <summary>Requires an integer of at least <paramref name="min"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int min) =>
        option.Check(v => v >= min, $">= {min}");

    /// <summary>Requires an integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max) =>
        option.Check(v => v >= min && v <= max, $"in [{min}, {max}]");

    /// <summary>Requires one of the listed integers (a documented set such as 32|64).</summary>
    public static Option<int> OneOf(this Option<int> option, params int[] allowed) =>
        option.Check(allowed.Contains, $"one of {string.Join(", ", allowed)}");

    /// <summary>Requires every integer of a list option to be at least <paramref name="min"/>, and at least one of them.</summary>
    public static Option<int[]> EachAtLeast(this Option<int[]> option, int min) =>
        option.Check(v => v.Length > 0 && v.All(x => x >= min), $"one or more integers >= {min}", v => string.Join(" ", v));

    /// <summary>
    /// Requires a finite number (NaN and infinities are refused whatever the range) in the range given, each end
    /// inclusive unless said otherwise; leave an end null for no bound.
    /// </summary>
    public static Option<double> Finite(this Option<double> option, double? min = null, double? max = null, bool minExclusive = false, bool maxExclusive = false)
    {
        var range = (min, max) switch
        {
            ({ } lo, { } hi) => $" in {(minExclusive ? "(" : "[")}{Num(lo)}, {Num(hi)}{(maxExclusive ? ")" : "]")}",
            ({ } lo, null) => $" {(minExclusive ? ">" : ">=")} {Num(lo)}",
            (null, { } hi) => $" {(maxExclusive ? "<" : "<=")} {Num(hi)}",
            _ => "",
        };
        return option.Check(v => double.IsFinite(v)
            && (min is not { } lo || (minExclusive ? v > lo : v >= lo))
            && (max is not { } hi || (maxExclusive ? v < hi : v <= hi)), $"a finite number{range}", Num);
    }

    /// <summary>Requires <paramref name="valid"/> of the parsed value; the message says the option "must be <paramref name="what"/>".</summary>
    public static Option<T> Check<T>(this Option<T> option, Func<T, bool> valid, string what, Func<T, string>? show = null)
    {
        option.Validators.Add(result =>
        {
            // A default is the command's own; a token that did not parse is already reported by the parser.
            if (result.Implicit || result.Tokens.Count == 0 || !TryValue(result, out T? value)) return;
            if (!valid(value!))
                result.AddError($"{option.Name} must be {what} (got {(show is null ? Convert.ToString(value, CultureInfo.InvariantCulture) : show(value!))})");
        });
        return option;
    }

    static bool TryValue<T>(OptionResult result, out T? value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default;
            return false;
        }
    }

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
