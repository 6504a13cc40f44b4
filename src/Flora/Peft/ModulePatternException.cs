using System;
using System.Globalization;

namespace Flora;

/// <summary>
/// A module-name pattern that cannot be used (<see cref="ModuleNamePatterns"/>): not a valid regular expression, or
/// one whose matching backtracks past the time limit. The message names the pattern, the problem and the fix.
/// </summary>
internal sealed class ModulePatternException : ArgumentException
{
    private ModulePatternException(string pattern, string? field, string problem, string fix, Exception inner)
        : base($"The module pattern \"{pattern}\" {problem}. {fix}", inner)
    {
        Pattern = pattern;
        Field = field;
        Problem = problem;
        Fix = fix;
    }

    /// <summary>The pattern as the user wrote it.</summary>
    public string Pattern { get; }

    /// <summary>The PEFT configuration field that holds the pattern, or null for a <see cref="FloraConfig"/> pattern.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, as a predicate of the pattern ("is not a valid regular expression (…)").</summary>
    public string Problem { get; }

    /// <summary>What to do about it.</summary>
    public string Fix { get; }

    public static ModulePatternException Invalid(string pattern, string? field, ArgumentException error) =>
        new(pattern, field, $"is not a valid regular expression ({error.Message})",
            "Module patterns are regular expressions over the module's whole path: escape ( ) [ ] { } * + ? | ^ $ \\ with a backslash " +
            "to mean the character itself (e.g. \"blocks\\.0\\.conv\"), or give the module's name or a dotted suffix of it.", error);

    public static ModulePatternException TimedOut(string pattern, string name, string? field, Exception error) =>
        new(pattern, field,
            string.Create(CultureInfo.InvariantCulture, $"took longer than {ModuleNamePatterns.MatchTimeout.TotalSeconds:0.#} s to match the module path '{name}' ") +
            "(catastrophic backtracking: nested or overlapping quantifiers such as (a+)+ or (.|.)*)",
            "Simplify it so that each character can be matched one way only (e.g. \"layer\\d+\\.conv\\d\"), or list the module names.", error);
}
