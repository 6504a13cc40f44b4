using System;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Flora;

/// <summary>
/// PEFT's own rules for which module a configuration adapts, saves whole, and gives which rank and α, over PEFT module
/// names (the base model's <c>named_modules()</c> names, without <c>base_model.model.</c>). Each rule is the one in
/// PEFT's sources:
/// <list type="bullet">
/// <item><c>check_target_module_exists</c> (tuners_utils.py): excluded first (<c>exclude_modules</c>: a string is
/// <c>re.fullmatch</c>, a list an exact name or dotted suffix), then never inside a module to save
/// (<c>re.match(rf"(^|.*\.){m}($|\..*)", key)</c>), then <c>target_modules</c>: a string is <c>re.fullmatch</c>, a list
/// an exact name or a dotted suffix <c>key.endswith("." + t)</c>.</item>
/// <item><c>get_pattern_key</c> (utils/other.py), used by <c>_create_and_replace</c> for <c>rank_pattern</c> and
/// <c>alpha_pattern</c>: the FIRST key, in the file's order, for which <c>re.match(rf"(.*\.)?({key})$", name)</c>
/// matches, i.e. the pattern matches at the end of the name after a dot or the start.</item>
/// <item><c>_set_trainable</c> (utils/other.py) for <c>modules_to_save</c>: a plain string suffix, <c>key.endswith(m)</c>.</item>
/// </list>
/// Patterns are Python regular expressions; the simple syntax module patterns use means the same in .NET.
/// </summary>
internal static class PeftMatching
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>Whether PEFT adapts the module named <paramref name="name"/> (type aside).</summary>
    public static bool IsTarget(PeftAdapterConfig config, string name)
    {
        if (config.ExcludeModuleRegex is string exclude ? FullMatch(exclude, name) : config.ExcludeModuleList?.Any(e => IsNameOrSuffix(e, name)) == true)
            return false;
        if (config.ModulesToSave.Any(m => IsInsideModuleToSave(m, name)))
            return false;
        return config.TargetModuleRegex is string regex ? FullMatch(regex, name) : config.TargetModuleList!.Any(t => IsNameOrSuffix(t, name));
    }

    /// <summary>PEFT's exclusion of targets at or inside a module to save: <c>re.match(rf"(^|.*\.){m}($|\..*)", name)</c>.</summary>
    public static bool IsInsideModuleToSave(string moduleToSave, string name) =>
        Regex.IsMatch(name, @"^(?:^|.*\.)" + moduleToSave + @"(?:$|\..*)", RegexOptions.CultureInvariant, Timeout);

    /// <summary>Whether <c>modules_to_save</c> entry <paramref name="entry"/> selects <paramref name="name"/>: <c>name.endswith(entry)</c>.</summary>
    public static bool SavesModule(string entry, string name) => name.EndsWith(entry, StringComparison.Ordinal);

    /// <summary>The rank PEFT gives <paramref name="name"/> and the field it comes from (<c>rank_pattern["key"]</c> or <c>r</c>).</summary>
    public static (int Rank, string Field) RankSource(PeftAdapterConfig config, string name)
    {
        foreach (var (key, rank) in config.RankPattern)
            if (PatternKeyMatches(key, name)) return (rank, $"rank_pattern[\"{key}\"]");
        return (config.R, "r");
    }

    /// <summary>The α PEFT gives <paramref name="name"/>: its <c>alpha_pattern</c> entry, else <c>lora_alpha</c>.</summary>
    public static double AlphaFor(PeftAdapterConfig config, string name)
    {
        foreach (var (key, alpha) in config.AlphaPattern)
            if (PatternKeyMatches(key, name)) return alpha;
        return config.LoraAlpha;
    }

    /// <summary><c>get_pattern_key</c>'s test: <c>re.match(rf"(.*\.)?({key})$", name)</c>.</summary>
    public static bool PatternKeyMatches(string key, string name) =>
        Regex.IsMatch(name, @"^(?:.*\.)?(?:" + key + ")$", RegexOptions.CultureInvariant, Timeout);

    /// <summary>A pattern key that selects exactly <paramref name="name"/> under <see cref="PatternKeyMatches"/>.</summary>
    public static string ExactPatternKey(string name) => "^" + Escape(name);

    /// <summary>A <c>target_modules</c> regular expression whose full match is exactly one of <paramref name="names"/>.</summary>
    public static string ExactAlternation(System.Collections.Generic.IEnumerable<string> names) =>
        "(" + string.Join("|", names.Select(Escape)) + ")";

    /// <summary>Escapes every ASCII character other than letters, digits and <c>_</c> (valid in Python's and .NET's syntax alike).</summary>
    public static string Escape(string name)
    {
        var text = new StringBuilder(name.Length + 8);
        foreach (char c in name)
        {
            if (c < 128 && !char.IsAsciiLetterOrDigit(c) && c != '_') text.Append('\\');
            text.Append(c);
        }
        return text.ToString();
    }

    /// <summary>Throws, naming the field, when <paramref name="pattern"/> is not a regular expression .NET can read.</summary>
    public static void CheckRegex(string path, string field, string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, Timeout);
        }
        catch (ArgumentException e)
        {
            throw new AdapterFileException(path, field, $"field '{field}' holds the pattern \"{pattern}\", which is not a regular expression Flora can read ({e.Message}). Use plain module names or simple patterns.");
        }
    }

    private static bool FullMatch(string pattern, string name) =>
        Regex.IsMatch(name, "^(?:" + pattern + @")\z", RegexOptions.CultureInvariant, Timeout);

    private static bool IsNameOrSuffix(string entry, string name) =>
        name == entry || name.EndsWith("." + entry, StringComparison.Ordinal);
}
