// Shared by the generator and the analyzers (linked source).
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// One <c>[FloraModel]</c> read into its values (Mapperly's typed attribute reading): null where the argument is not
    /// written. The attribute's data stays beside them, so that a diagnostic can mark the argument it is about.
    /// </summary>
    internal sealed class ModelAttributeValues
    {
        private ModelAttributeValues(AttributeData data) => Data = data;

        public AttributeData Data { get; }

        public int? Rank { get; private set; }
        public int? R3 { get; private set; }
        public double? Scale { get; private set; }
        /// <summary>The LoRA/DoRA rank and α; 0 means unset (the matched rank, α = r).</summary>
        public int? LoraRank { get; private set; }
        public double? LoraAlpha { get; private set; }
        public bool? SaveNormLayers { get; private set; }
        /// <summary>The Houlsby/Pfeiffer bottleneck width; 0 means unset.</summary>
        public int? AdapterSize { get; private set; }
        /// <summary>AdaLoRA's target and initial ranks; 0 means unset.</summary>
        public int? AdaLoraTargetRank { get; private set; }
        public int? AdaLoraInitRank { get; private set; }
        /// <summary>The budget FLORA008 checks the compile-time count against; 0 or less: none.</summary>
        public long? MaxTrainableParameters { get; private set; }

        /// <summary>The model-wide rank every target inherits: the attribute's, else the library's default.</summary>
        public static int EffectiveRank(ModelAttributeValues? model) => model?.Rank ?? FloraRankRules.DefaultRank;

        /// <summary>The model-wide R3 every convolution target inherits: the attribute's, else the library's default.</summary>
        public static int EffectiveR3(ModelAttributeValues? model) => model?.R3 ?? FloraRankRules.DefaultR3;

        /// <summary>The model-wide scale every target inherits: the attribute's, else the library's default.</summary>
        public static double EffectiveScale(ModelAttributeValues? model) => model?.Scale ?? FloraRankRules.DefaultScale;

        public static ModelAttributeValues Read(AttributeData data)
        {
            var values = new ModelAttributeValues(data);
            foreach (var argument in data.NamedArguments)
            {
                object? value = argument.Value.Value;
                switch (argument.Key)
                {
                    case FloraArgumentNames.Rank: values.Rank = value as int?; break;
                    case FloraArgumentNames.R3: values.R3 = value as int?; break;
                    case FloraArgumentNames.Scale: values.Scale = value as double?; break;
                    case FloraArgumentNames.LoraRank: values.LoraRank = value as int?; break;
                    case FloraArgumentNames.LoraAlpha: values.LoraAlpha = value as double?; break;
                    case FloraArgumentNames.SaveNormLayers: values.SaveNormLayers = value as bool?; break;
                    case FloraArgumentNames.AdapterSize: values.AdapterSize = value as int?; break;
                    case FloraArgumentNames.AdaLoraTargetRank: values.AdaLoraTargetRank = value as int?; break;
                    case FloraArgumentNames.AdaLoraInitRank: values.AdaLoraInitRank = value as int?; break;
                    case FloraArgumentNames.MaxTrainableParameters: values.MaxTrainableParameters = value as long?; break;
                }
            }
            return values;
        }
    }
}
