namespace Flora.Generators.Model
{
    /// <summary>
    /// One <c>target.forward(x)</c> or <c>target.call(x)</c> call the generator routes straight to the target's adapter: the
    /// model it belongs to, the method, the interceptor's receiver type, and the compiler's opaque location (<c>Version</c>,
    /// <c>Data</c>) with a readable one for the generated comment. Names and numbers only.
    /// </summary>
    internal sealed record InterceptionSite
    {
        /// <summary>The type that declares the target, fully qualified with arities (groups the sites into one file).</summary>
        public string TypeKey { get; init; } = "";
        /// <summary>That type's name for comments, e.g. SmallCnn.</summary>
        public string DisplayName { get; init; } = "";
        public string MemberName { get; init; } = "";
        /// <summary>The intercepted method: <c>forward</c> or <c>call</c>.</summary>
        public string Method { get; init; } = "";
        /// <summary>The member's declared type as C# source (<c>global::TorchSharp.Modules.Conv2d</c>): the interceptor's <c>this</c>.</summary>
        public string ReceiverType { get; init; } = "";
        /// <summary>A C# identifier fragment for the interceptor's name (<c>Conv2d</c>, <c>Module</c>).</summary>
        public string ReceiverName { get; init; } = "";
        public int Version { get; init; }
        public string Data { get; init; } = "";
        /// <summary>Where the call is (its <c>forward</c> name, 1-based line and column), for ordering and the generated comment.</summary>
        public string FilePath { get; init; } = "";
        public int Line { get; init; }
        public int Column { get; init; }
    }

    /// <summary>The interceptors of one model type: one generated file.</summary>
    internal sealed record InterceptorsSpec
    {
        public string TypeKey { get; init; } = "";
        public string DisplayName { get; init; } = "";
        public string HintName { get; init; } = "";
        /// <summary>Ordered by file and position, so the text is deterministic.</summary>
        public EquatableArray<InterceptionSite> Sites { get; init; } = EquatableArray<InterceptionSite>.Empty;
    }
}
