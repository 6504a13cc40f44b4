// Shared by the generator and the analyzers (linked source).
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// One <c>[FloraTarget]</c> read into its values (Mapperly's typed attribute reading): null where the argument is not
    /// written. The attribute's data stays beside them, so that a diagnostic can mark the argument it is about.
    /// </summary>
    internal sealed class TargetAttributeValues
    {
        private TargetAttributeValues(AttributeData data) => Data = data;

        public AttributeData Data { get; }

        public int? Rank { get; private set; }
        public int? InRank { get; private set; }
        public int? OutRank { get; private set; }
        public int? R3 { get; private set; }
        public double? Scale { get; private set; }
        /// <summary>The LoRA/DoRA rank and α; 0 means unset (the matched rank, α = r).</summary>
        public int? LoraRank { get; private set; }
        public double? LoraAlpha { get; private set; }
        /// <summary>The Houlsby/Pfeiffer bottleneck width; 0 means unset.</summary>
        public int? AdapterSize { get; private set; }

        public static TargetAttributeValues Read(AttributeData data)
        {
            var values = new TargetAttributeValues(data);
            foreach (var argument in data.NamedArguments)
            {
                object? value = argument.Value.Value;
                switch (argument.Key)
                {
                    case FloraArgumentNames.Rank: values.Rank = value as int?; break;
                    case FloraArgumentNames.InRank: values.InRank = value as int?; break;
                    case FloraArgumentNames.OutRank: values.OutRank = value as int?; break;
                    case FloraArgumentNames.R3: values.R3 = value as int?; break;
                    case FloraArgumentNames.Scale: values.Scale = value as double?; break;
                    case FloraArgumentNames.LoraRank: values.LoraRank = value as int?; break;
                    case FloraArgumentNames.LoraAlpha: values.LoraAlpha = value as double?; break;
                    case FloraArgumentNames.AdapterSize: values.AdapterSize = value as int?; break;
                }
            }
            return values;
        }
    }
}
