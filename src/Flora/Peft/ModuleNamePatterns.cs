using System;
using System.Text.RegularExpressions;

namespace Flora;

/// <summary>
/// The one rule for module-name patterns, whether they come from <see cref="FloraConfig"/> (<c>TargetModules</c>,
/// <c>ExcludeModules</c>, <c>ModulesToSave</c>, <c>Overrides</c>) or from a PEFT <c>adapter_config.json</c>
/// (<c>target_modules</c>, <c>exclude_modules</c>, <c>modules_to_save</c>, the keys of <c>rank_pattern</c> and
/// <c>alpha_pattern</c>): a pattern is a regular expression, matched against module paths with a time limit. A pattern
/// that is not a valid regular expression, or whose matching runs past the limit (catastrophic backtracking), throws
/// <see cref="ModulePatternException"/> (an <see cref="ArgumentException"/>) naming the pattern, the problem and the fix;
/// the PEFT importer turns it into an <see cref="AdapterFileException"/> naming the field.
/// </summary>
internal static class ModuleNamePatterns
{
    /// <summary>How long one match may take; module paths are short, so only a backtracking pattern comes near it.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ModulePatternException"/> unless <paramref name="pattern"/> is a valid regular expression.</summary>
    /// <param name="pattern">The pattern as the user wrote it.</param>
    /// <param name="field">The configuration field that holds it (PEFT's name), or null for <see cref="FloraConfig"/>'s.</param>
    public static void Check(string pattern, string? field = null)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw ModulePatternException.Invalid(pattern, field, e);
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> matches <paramref name="expression"/>, the regular expression a rule builds around
    /// <paramref name="pattern"/> (anchors, PEFT's prefixes). An invalid pattern or a match past <see cref="MatchTimeout"/>
    /// throws <see cref="ModulePatternException"/> naming <paramref name="pattern"/> and <paramref name="field"/>.
    /// </summary>
    public static bool IsMatch(string name, string pattern, string expression, string? field = null)
    {
        try
        {
            return Regex.IsMatch(name, expression, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw ModulePatternException.TimedOut(pattern, name, field, e);
        }
        catch (ArgumentException e)
        {
            Check(pattern, field); // reports the error at its place in the user's pattern
            throw ModulePatternException.Invalid(pattern, field, e);
        }
    }

    /// <summary>The whole of <paramref name="name"/> matches <paramref name="pattern"/> (PEFT's <c>re.fullmatch</c>).</summary>
    public static bool FullMatch(string name, string pattern, string? field = null) =>
        IsMatch(name, pattern, "^(?:" + pattern + @")\z", field);
}
