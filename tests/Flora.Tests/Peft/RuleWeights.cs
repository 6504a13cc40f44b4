namespace Flora.Tests.Peft;

/// <summary>
/// The rule tools/peft/rule_tokens.py and rule_attention.py make their models' base weights and ids by: over the state
/// dict's keys sorted by ordinal, tensor number k, flat element i, x = 0.37·i + k in float64: amplitude·sin x, cast to
/// float32; ids (7·j + offset) mod 50 over the flat index j.
/// </summary>
internal static class RuleWeights
{
    /// <summary>Loads the rule's weights into <paramref name="model"/> (the amplitude by state-dict key) and puts it in eval mode.</summary>
    public static T Load<T>(T model, Func<string, double> amplitude) where T : nn.Module
    {
        var state = model.state_dict();
        var keys = state.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var values = new Dictionary<string, Tensor>();
        for (int k = 0; k < keys.Count; k++)
        {
            Tensor tensor = state[keys[k]];
            double a = amplitude(keys[k]);
            var data = new float[tensor.numel()];
            for (long i = 0; i < data.Length; i++) data[i] = (float)(a * System.Math.Sin(0.37 * i + k));
            values[keys[k]] = torch.tensor(data).reshape(tensor.shape);
        }
        model.load_state_dict(values);
        foreach (var value in values.Values) value.Dispose();
        model.eval();
        return model;
    }

    /// <summary>The rule's int64 ids of <paramref name="shape"/>: (7·j + <paramref name="offset"/>) mod 50.</summary>
    public static Tensor Ids(long[] shape, long offset)
    {
        var data = new long[shape.Aggregate(1L, (a, b) => a * b)];
        for (int j = 0; j < data.Length; j++) data[j] = (7L * j + offset) % 50;
        return torch.tensor(data).reshape(shape);
    }
}
