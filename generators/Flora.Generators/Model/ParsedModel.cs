namespace Flora.Generators.Model
{
    /// <summary>
    /// What one transform of the model pipeline gives: the spec of the model it read, or none where another transform
    /// reads that model, or it gets no generated code. The pipeline keeps the empty ones until it names the files:
    /// Roslyn's step tracking only lists the runs that an output's inputs reach, and the caching tests read every transform's.
    /// </summary>
    internal sealed record ParsedModel(ModelSpec? Spec)
    {
        public static readonly ParsedModel None = new((ModelSpec?)null);
    }
}
