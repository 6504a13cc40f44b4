using System.ComponentModel;

namespace Flora.Internal;

/// <summary>
/// Implemented by the source generator on every annotated model: lists the model's targets, modules to save and nested
/// annotated models into a <see cref="FloraParts"/>, so that a model built of annotated blocks attaches as one.
/// For generated code, not for users: the generated <c>AttachFlora()</c> is the way in.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IFloraComposable
{
    /// <summary>Adds this model's targets, modules to save and nested models to <paramref name="parts"/>.</summary>
    void DescribeFloraParts(FloraParts parts);
}
