namespace Flora.Generators.Model
{
    /// <summary>
    /// What <c>[FloraModel(SaveNormLayers = true)]</c> adds to a model's trainable count: the norm layers of its module tree,
    /// as <see cref="NormLayerScan"/> reads them from the model type.
    /// </summary>
    internal sealed record NormLayersSpec
    {
        /// <summary>Their trainable parameters (weight and bias where affine); null when a member hides modules or a size is not constant.</summary>
        public long? Parameters { get; init; }
    }
}
