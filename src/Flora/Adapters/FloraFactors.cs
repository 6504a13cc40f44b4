using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The factors <c>U_n</c> of one FLoRA adapter, held as the adapter's child module <c>factor</c> with one parameter per
/// mode (<c>out</c>, <c>in</c>, <c>k0</c>, …), so that a model's <c>state_dict</c> names them as adapter files do:
/// <c>conv1.factor.out</c>, <c>conv1.factor.k0</c>.
/// </summary>
internal sealed class FloraFactors : nn.Module
{
    /// <summary>The child module's name in its adapter.</summary>
    public const string Name = "factor";

    public FloraFactors() : base(Name)
    {
    }

    /// <summary>Registers the factor of the mode named <paramref name="mode"/>.</summary>
    public void Add(string mode, Parameter factor) => register_parameter(mode, factor);
}
