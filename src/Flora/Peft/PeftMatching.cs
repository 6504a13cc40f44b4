using System;
using System.Linq;
using System.Text;

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
/// Patterns are Python regular expressions; the simple syntax module patterns use means the same in .NET. They follow
/// <see cref="ModuleNamePatterns"/>' rule: an invalid or catastrophically backtracking pattern throws
/// <see cref="ModulePatternException"/> naming the field that holds it.
/// </summary>
internal static class PeftMatching
{
    /// <summary>Whether PEFT adapts the module named <paramref name="name"/> (type aside).</summary>
    public static bool IsTarget(PeftAdapterConfig config, string name)
    {
        if (config.ExcludeModuleRegex is string exclude ? ModuleNamePatterns.FullMatch(name, exclude, "exclude_modules") : config.ExcludeModuleList?.Any(e => IsNameOrSuffix(e, name)) == true)
            return false;
        if (config.ModulesToSave.Any(m => IsInsideModuleToSave(m, name)))
            return false;
        return config.TargetModuleRegex is string regex ? ModuleNamePatterns.FullMatch(name, regex, "target_modules") : config.TargetModuleList!.Any(t => IsNameOrSuffix(t, name));
    }

    /// <summary>PEFT's exclusion of targets at or inside a module to save: <c>re.match(rf"(^|.*\.){m}($|\..*)", name)</c>.</summary>
    public static bool IsInsideModuleToSave(string moduleToSave, string name) =>
        ModuleNamePatterns.IsMatch(name, moduleToSave, @"^(?:^|.*\.)" + moduleToSave + @"(?:$|\..*)", "modules_to_save");

    /// <summary>Whether <c>modules_to_save</c> entry <paramref name="entry"/> selects <paramref name="name"/>: <c>name.endswith(entry)</c>.</summary>
    public static bool SavesModule(string entry, string name) => name.EndsWith(entry, StringComparison.Ordinal);

    /// <summary>The rank PEFT gives <paramref name="name"/> and the field it comes from (<c>rank_pattern["key"]</c> or <c>r</c>).</summary>
    public static (int Rank, string Field) RankSource(PeftAdapterConfig config, string name)
    {
        foreach (var (key, rank) in config.RankPattern)
            if (PatternKeyMatches(key, name, $"rank_pattern[\"{key}\"]")) return (rank, $"rank_pattern[\"{key}\"]");
        return (config.R, "r");
    }

    /// <summary>The α PEFT gives <paramref name="name"/>: its <c>alpha_pattern</c> entry, else <c>lora_alpha</c>.</summary>
    public static double AlphaFor(PeftAdapterConfig config, string name)
    {
        foreach (var (key, alpha) in config.AlphaPattern)
            if (PatternKeyMatches(key, name, $"alpha_pattern[\"{key}\"]")) return alpha;
        return config.LoraAlpha;
    }

    /// <summary><c>get_pattern_key</c>'s test: <c>re.match(rf"(.*\.)?({key})$", name)</c>.</summary>
    public static bool PatternKeyMatches(string key, string name, string? field = null) =>
        ModuleNamePatterns.IsMatch(name, key, @"^(?:.*\.)?(?:" + key + ")$", field);

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
            ModuleNamePatterns.Check(pattern, field);
        }
        catch (ModulePatternException e)
        {
            throw Refusal(path, e);
        }
    }

    /// <summary>The refusal of the configuration file at <paramref name="path"/> for a pattern of one of its fields.</summary>
    public static AdapterFileException Refusal(string path, ModulePatternException e) =>
        new(path, e.Field, $"field '{e.Field}' holds the pattern \"{e.Pattern}\", which {e.Problem}. {e.Fix}", e);

    private static bool IsNameOrSuffix(string entry, string name) =>
        name == entry || name.EndsWith("." + entry, StringComparison.Ordinal);
}
