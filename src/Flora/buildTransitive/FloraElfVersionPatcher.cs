// Flora: makes TorchSharp's native bridge load on Linux distributions whose libstdc++ is older than
// the one it was linked against (Debian 12, Ubuntu 22.04: GLIBCXX up to 3.4.30).
//
// libLibTorchSharp.so 0.107 needs the version GLIBCXX_3.4.32 for one symbol only,
// _ZSt21ios_base_library_initv, which GCC 13's <iostream> references and nothing calls. Marking that
// version requirement weak (VER_FLG_WEAK in .gnu.version_r) and the symbol weak (STB_WEAK in .dynsym)
// lets the dynamic loader accept the library; the symbol then resolves to null and is never used.
//
// This file is compiled by MSBuild's RoslynCodeTaskFactory (see Flora.targets) and, with
// FLORA_ELF_PATCHER_STANDALONE defined, by the tests. It only ever rewrites the copy in a build or
// publish output folder, through a temporary file and a rename, never the NuGet cache.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Flora.Build
{
    /// <summary>What <see cref="ElfVersionPatcher.Patch"/> did to one file.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The file needs none of the listed versions: nothing to do.</summary>
        NotNeeded,
        /// <summary>Every listed version need was already weak: nothing to do.</summary>
        AlreadyPatched,
        /// <summary>The listed version needs and their symbols were made weak.</summary>
        Patched,
        /// <summary>A listed version is needed by a symbol outside the allowed list: left unchanged.</summary>
        Unsafe,
        /// <summary>Not a 64-bit little-endian ELF file with version sections: left unchanged.</summary>
        Unsupported,
    }

    /// <summary>The outcome and a sentence that explains it.</summary>
    public sealed class ElfPatchResult
    {
        public ElfPatchResult(ElfPatchOutcome outcome, string message)
        {
            Outcome = outcome;
            Message = message;
        }

        public ElfPatchOutcome Outcome { get; }
        public string Message { get; }
    }

    /// <summary>Weakens selected symbol-version requirements of a 64-bit little-endian ELF shared object.</summary>
    public static class ElfVersionPatcher
    {
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;
        private const ushort VerFlgWeak = 0x2;
        private const byte StbWeak = 2;
        private const int SymbolSize = 24;

        /// <summary>Patches <paramref name="elf"/> in memory.</summary>
        /// <param name="elf">The file's bytes; changed only when the outcome is <see cref="ElfPatchOutcome.Patched"/>.</param>
        /// <param name="versions">Version names to weaken, e.g. GLIBCXX_3.4.32.</param>
        /// <param name="allowedSymbols">Symbols known never to be called; any other symbol needing a listed version makes the patch unsafe.</param>
        public static ElfPatchResult Patch(byte[] elf, ICollection<string> versions, ICollection<string> allowedSymbols)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                return new ElfPatchResult(ElfPatchOutcome.Unsupported, "not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                return new ElfPatchResult(ElfPatchOutcome.Unsupported, "not a 64-bit little-endian ELF file");

            long shoff = (long)U64(elf, 0x28);
            int shentsize = U16(elf, 0x3a);
            int shnum = U16(elf, 0x3c);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > elf.Length)
                return new ElfPatchResult(ElfPatchOutcome.Unsupported, "the section header table is missing or truncated");

            Section? verneed = null, versym = null, dynsym = null;
            var sections = new List<Section>();
            for (int i = 0; i < shnum; i++)
            {
                var s = new Section(elf, (int)(shoff + (long)i * shentsize));
                sections.Add(s);
                if (s.Type == ShtGnuVerneed) verneed = s;
                else if (s.Type == ShtGnuVersym) versym = s;
                else if (s.Type == ShtDynsym) dynsym = s;
            }
            if (verneed == null || versym == null || dynsym == null)
                return new ElfPatchResult(ElfPatchOutcome.NotNeeded, "the file has no symbol version requirements");
            if (verneed.Link >= sections.Count || dynsym.Link >= sections.Count)
                return new ElfPatchResult(ElfPatchOutcome.Unsupported, "a version section links to a missing string table");
            Section verneedStrings = sections[(int)verneed.Link];
            Section dynsymStrings = sections[(int)dynsym.Link];

            // 1. Find the version needs (Elf64_Verneed / Elf64_Vernaux) whose names are listed.
            var needs = new List<int>(); // offsets of the Vernaux entries to weaken
            var indices = new HashSet<int>(); // their version indices (vna_other)
            bool anyNotWeak = false;
            long entry = verneed.Offset;
            for (uint n = 0; n < verneed.Info; n++)
            {
                CheckRange(elf, entry, 16);
                int count = U16(elf, (int)entry + 2);
                long aux = entry + U32(elf, (int)entry + 8);
                for (int a = 0; a < count; a++)
                {
                    CheckRange(elf, aux, 16);
                    string name = ReadString(elf, verneedStrings, U32(elf, (int)aux + 8));
                    if (versions.Contains(name))
                    {
                        needs.Add((int)aux);
                        indices.Add(U16(elf, (int)aux + 6));
                        if ((U16(elf, (int)aux + 4) & VerFlgWeak) == 0) anyNotWeak = true;
                    }
                    aux += U32(elf, (int)aux + 12);
                }
                uint next = U32(elf, (int)entry + 12);
                if (next == 0) break;
                entry += next;
            }
            if (needs.Count == 0)
                return new ElfPatchResult(ElfPatchOutcome.NotNeeded, "the file needs none of " + string.Join(", ", versions));

            // 2. Find the dynamic symbols bound to those versions; refuse if one is not known to be unused.
            int symbolCount = (int)(dynsym.Size / SymbolSize);
            CheckRange(elf, dynsym.Offset, (long)symbolCount * SymbolSize);
            CheckRange(elf, versym.Offset, (long)symbolCount * 2);
            var symbols = new List<int>();
            var unsafeNames = new List<string>();
            for (int i = 0; i < symbolCount; i++)
            {
                int version = U16(elf, (int)versym.Offset + 2 * i) & 0x7fff;
                if (!indices.Contains(version)) continue;
                int sym = (int)dynsym.Offset + i * SymbolSize;
                string name = ReadString(elf, dynsymStrings, U32(elf, sym));
                if (!allowedSymbols.Contains(name)) unsafeNames.Add(name);
                symbols.Add(sym);
                if (elf[sym + 4] >> 4 != StbWeak) anyNotWeak = true;
            }
            if (unsafeNames.Count > 0)
                return new ElfPatchResult(ElfPatchOutcome.Unsafe,
                    "symbols that may be called need " + string.Join(", ", versions) + ": " + string.Join(", ", unsafeNames));
            if (!anyNotWeak)
                return new ElfPatchResult(ElfPatchOutcome.AlreadyPatched, "already patched");

            // 3. Weaken them.
            foreach (int aux in needs)
            {
                ushort flags = (ushort)(U16(elf, aux + 4) | VerFlgWeak);
                elf[aux + 4] = (byte)flags;
                elf[aux + 5] = (byte)(flags >> 8);
            }
            foreach (int sym in symbols)
                elf[sym + 4] = (byte)((StbWeak << 4) | (elf[sym + 4] & 0xf));
            return new ElfPatchResult(ElfPatchOutcome.Patched,
                "weakened " + string.Join(", ", versions) + " for " + symbols.Count + " symbol(s)");
        }

        /// <summary>Patches a file on disk through a temporary file and a rename; returns what it did.</summary>
        public static ElfPatchResult PatchFile(string path, ICollection<string> versions, ICollection<string> allowedSymbols)
        {
            byte[] bytes = File.ReadAllBytes(path);
            ElfPatchResult result = Patch(bytes, versions, allowedSymbols);
            if (result.Outcome != ElfPatchOutcome.Patched) return result;
            string temporary = path + ".flora-patch.tmp";
            File.Copy(path, temporary, overwrite: true); // keeps the file mode
            File.WriteAllBytes(temporary, bytes);
            File.Delete(path); // breaks a hard link to the NuGet cache instead of writing through it
            File.Move(temporary, path);
            return result;
        }

        private static void CheckRange(byte[] elf, long offset, long length)
        {
            if (offset < 0 || length < 0 || offset + length > elf.Length)
                throw new InvalidDataException("the ELF file is truncated or malformed at offset " + offset);
        }

        private static string ReadString(byte[] elf, Section strings, uint index)
        {
            long start = strings.Offset + index;
            CheckRange(elf, start, 1);
            long end = start;
            while (end < elf.Length && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
        private static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        private sealed class Section
        {
            public Section(byte[] elf, int header)
            {
                Type = U32(elf, header + 4);
                Offset = (long)U64(elf, header + 24);
                Size = (long)U64(elf, header + 32);
                Link = U32(elf, header + 40);
                Info = U32(elf, header + 44);
            }

            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }
    }

#if !FLORA_ELF_PATCHER_STANDALONE
    /// <summary>MSBuild task: weakens the listed version needs in each given output file.</summary>
    public sealed class FloraWeakenElfVersionNeeds : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        [Microsoft.Build.Framework.Required]
        public string[] Versions { get; set; } = new string[0];

        [Microsoft.Build.Framework.Required]
        public string[] AllowedSymbols { get; set; } = new string[0];

        public override bool Execute()
        {
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                try
                {
                    ElfPatchResult result = ElfVersionPatcher.PatchFile(path, Versions, AllowedSymbols);
                    if (result.Outcome == ElfPatchOutcome.Patched)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Flora: " + path + ": " + result.Message);
                    else if (result.Outcome == ElfPatchOutcome.Unsafe || result.Outcome == ElfPatchOutcome.Unsupported)
                        Log.LogWarning(null, "FLORABUILD001", null, path, 0, 0, 0, 0,
                            "Flora did not patch " + path + " (" + result.Message + "). If TorchSharp fails to load with "
                            + "'GLIBCXX_... not found', install a newer libstdc++ or set FloraPatchLibTorchSharp=false and patch it yourself.");
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
                {
                    Log.LogWarning(null, "FLORABUILD001", null, path, 0, 0, 0, 0, "Flora could not patch " + path + ": " + e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
