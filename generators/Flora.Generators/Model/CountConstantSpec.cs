namespace Flora.Generators.Model
{
    /// <summary>The methods whose trainable count the generator can know at compile time, one constant each.</summary>
    internal enum CountKind
    {
        /// <summary><c>FloraTrainableParameters</c>.</summary>
        Flora,
        /// <summary><c>HoulsbyTrainableParameters</c>.</summary>
        Houlsby,
        /// <summary><c>AdaLoraTrainableParameters</c> (at the initial rank).</summary>
        AdaLora,
    }

    /// <summary>One compile-time trainable count the generated code declares as a <c>public const long</c>.</summary>
    internal sealed record CountConstantSpec
    {
        public CountKind Kind { get; init; }
        public long Value { get; init; }
        /// <summary>Whether a base model also has this constant, which this one's then hides (<c>new</c>).</summary>
        public bool HidesBase { get; init; }
    }
}
