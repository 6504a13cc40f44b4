using System;
using System.Linq;
using System.Reflection;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// When a forward of the attached model begins and ends: a forward pre-hook and a forward hook on the model the adapters
/// were attached to (the root), so that work shared by several adapters (an <see cref="AdapterGroup"/>'s batched weights)
/// is done once per forward and never outlives it. Every root call starts a new <see cref="Generation"/>.
/// <para>
/// TorchSharp runs these hooks in the root's <c>call(x)</c>, not in <c>forward(x)</c>: a forward of the root that
/// bypasses them is outside any scope, and whatever asks <see cref="IsOpen"/> then falls back to per-layer work, which is
/// correct, only slower. A root call that throws never reaches its forward hook; any exception thrown while a scope is
/// open closes it (this thread's first-chance exception count moves: exceptions on other threads, such as parallel tests or a data
/// loader, say nothing about this forward), so a later forward that bypasses the hooks can
/// never reuse what the failed one built.
/// </para>
/// The hooks are the <c>Action&lt;Module&gt;</c> overloads every TorchSharp <c>Module&lt;…&gt;</c> offers whatever its
/// arity, found once per root type; a root without them (not a TorchSharp <c>Module&lt;…&gt;</c>) has no scopes.
/// </summary>
internal sealed class ForwardScope : IDisposable
{
    [ThreadStatic] private static long _exceptions; // per thread: a forward runs on the thread that began it
    private readonly Action? _remove;
    private int _depth;
    private long _exceptionsAtStart;
    private int _thread; // the thread the open scope began on: only its forward is in the scope

    static ForwardScope() => AppDomain.CurrentDomain.FirstChanceException += CountException;

    /// <summary>Hooks into <paramref name="root"/>'s calls; <paramref name="began"/> and <paramref name="ended"/> run after the scope's own bookkeeping.</summary>
    public ForwardScope(nn.Module root, Action? began = null, Action? ended = null)
    {
        Began = began;
        Ended = ended;
        var pre = FindHookMethod(root.GetType(), "register_forward_pre_hook");
        var post = FindHookMethod(root.GetType(), "register_forward_hook");
        if (pre is null || post is null) return;
        var beforeRemover = pre.Invoke(root, new object[] { (Action<nn.Module>)(_ => Begin()) });
        var afterRemover = post.Invoke(root, new object[] { (Action<nn.Module>)(_ => End()) });
        _remove = () =>
        {
            Remove(afterRemover);
            Remove(beforeRemover);
        };
        IsHooked = true;
    }

    /// <summary>Whether the root's calls open scopes (its type offers the hooks).</summary>
    public bool IsHooked { get; }

    /// <summary>Increases at every root call; a cache keyed by it lives for one forward.</summary>
    public long Generation { get; private set; }

    /// <summary>Whether a root call is in progress (and nothing has thrown since it began).</summary>
    public bool IsOpen => _depth > 0 && Environment.CurrentManagedThreadId == _thread && _exceptions == _exceptionsAtStart;

    private Action? Began { get; }

    private Action? Ended { get; }

    private void Begin()
    {
        long exceptions = _exceptions;
        if (exceptions != _exceptionsAtStart) _depth = 0; // a call that threw left its depth behind
        _exceptionsAtStart = exceptions;
        _thread = Environment.CurrentManagedThreadId;
        _depth++;
        Generation++;
        Began?.Invoke();
    }

    private void End()
    {
        if (_depth > 0) _depth--;
        Generation++;
        Ended?.Invoke();
    }

    /// <summary>Removes the hooks.</summary>
    public void Dispose() => _remove?.Invoke();

    private static void CountException(object? sender, FirstChanceExceptionEventArgs e) => _exceptions++;

    private static MethodInfo? FindHookMethod(Type type, string name)
    {
        for (Type? t = type; t is not null; t = t.BaseType)
        {
            var method = t.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.DeclaredOnly)
                .FirstOrDefault(m => m.Name == name && m.GetParameters() is { Length: 1 } p && p[0].ParameterType == typeof(Action<nn.Module>));
            if (method is not null) return method;
        }
        return null;
    }

    private static void Remove(object? remover) => remover?.GetType().GetMethod("remove", Type.EmptyTypes)?.Invoke(remover, null);
}
