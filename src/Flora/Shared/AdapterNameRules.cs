// Shared by the runtime and the analyzers (linked source): the one rule for adapter names, which FloraAttachment
// enforces at run time and FLORA015 checks on compile-time constants. Plain C# for netstandard2.0, no TorchSharp.
namespace Flora
{
    /// <summary>What makes a string usable as an adapter name, and why one is not.</summary>
    internal static class AdapterNameRules
    {
        /// <summary>The name of the adapter attached first (PEFT's default adapter name); it is always taken.</summary>
        public const string DefaultName = "default";

        /// <summary>PEFT's name for "no adapter" in a mixed batch; no adapter may take it.</summary>
        public const string BaseModelName = "__base__";

        /// <summary>The rule for the characters, as the messages state it.</summary>
        public const string CharacterRule = "use ASCII letters, digits, '_', '-' and '.' (the name becomes a folder in PEFT directories)";

        /// <summary>
        /// Why no adapter can ever be named <paramref name="name"/> (empty, a character outside ASCII letters, digits,
        /// '_', '-' and '.', "." or "..", or <see cref="BaseModelName"/>), or null when the name is usable.
        /// </summary>
        public static string? WhyUnusable(string name)
        {
            if (name.Length == 0 || name == "." || name == ".." || !HasOnlyNameCharacters(name))
                return CharacterRule;
            if (name == BaseModelName)
                return "PEFT uses it for the base model in a mixed batch";
            return null;
        }

        /// <summary>
        /// <paramref name="name"/> made usable: each character outside the rule becomes '_'; a name that stays unusable
        /// (empty, "." or "..", <see cref="BaseModelName"/>) or is <see cref="DefaultName"/> becomes <paramref name="fallback"/>.
        /// </summary>
        public static string MakeUsable(string name, string fallback)
        {
            var chars = name.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
                if (!IsNameCharacter(chars[i])) chars[i] = '_';
            var usable = new string(chars);
            return usable == DefaultName || WhyUnusable(usable) is not null ? fallback : usable;
        }

        private static bool HasOnlyNameCharacters(string name)
        {
            foreach (char c in name)
                if (!IsNameCharacter(c)) return false;
            return true;
        }

        private static bool IsNameCharacter(char c) =>
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    }
}
