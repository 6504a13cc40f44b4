// Shared by the generator and the analyzers (linked source).
namespace Flora.Generators
{
    /// <summary>
    /// The named arguments of <c>[FloraModel]</c> and <c>[FloraTarget]</c>, as their properties are named in the runtime:
    /// the attribute readers map them, the analyzers mark them (<c>Rank = 64</c>) and the code fixes rewrite them.
    /// </summary>
    internal static class FloraArgumentNames
    {
        public const string Rank = "Rank";
        public const string InRank = "InRank";
        public const string OutRank = "OutRank";
        public const string R3 = "R3";
        public const string Scale = "Scale";
        public const string LoraRank = "LoraRank";
        public const string LoraAlpha = "LoraAlpha";
        public const string AdapterSize = "AdapterSize";
        public const string AdaLoraTargetRank = "AdaLoraTargetRank";
        public const string AdaLoraInitRank = "AdaLoraInitRank";
        public const string SaveNormLayers = "SaveNormLayers";
        public const string MaxTrainableParameters = "MaxTrainableParameters";
    }
}
