using System;

namespace Flora;

/// <summary>
/// Marks a module member of a <see cref="FloraModelAttribute"/> model (a new classifier head, a BatchNorm or LayerNorm, a
/// whole block: any TorchSharp module) that trains fully while the rest of the model stays frozen, as PEFT's
/// <c>modules_to_save</c>. Attach keeps its original parameters and buffers aside; its trained parameters and buffers
/// (BatchNorm running statistics included) are saved in the adapter file under its path and restored on load, and
/// <c>DetachFlora()</c> puts the original values back bit-exactly. It may not also be a <see cref="FloraTargetAttribute"/>
/// member (diagnostic FLORA011).
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class FloraModuleToSaveAttribute : Attribute
{
}
