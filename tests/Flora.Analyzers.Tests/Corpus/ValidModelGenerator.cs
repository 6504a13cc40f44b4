using System.Globalization;
using System.Text;

namespace Flora.Analyzers.Tests.Corpus;

/// <summary>
/// Writes random but correct Flora models from a fixed seed: every layer kind, fields, properties, constructor
/// assignments (constant and from arguments), depthwise and grouped convolutions, tuple kernels, nested and generic
/// types, explicit ranks within their modes, inherited ranks of any size (they clamp silently), positive scales.
/// </summary>
internal sealed class ValidModelGenerator
{
    private readonly Random _random;
    private readonly StringBuilder _text = new();

    public ValidModelGenerator(int seed) => _random = new Random(seed);

    public string Next(int index)
    {
        _text.Clear();
        string name = "Model" + index.ToString(CultureInfo.InvariantCulture);
        int nesting = _random.Next(4); // 0: top level, 1: namespace, 2: nested in a partial class, 3: namespace + generic nested
        if (nesting is 1 or 3) _text.Append("namespace Corpus.N").Append(index).Append(" {\n");
        if (nesting is 2 or 3) _text.Append(_random.Next(2) == 0 ? "public static partial class Outer" : "internal partial record Outer").Append(index).Append(" {\n");
        string typeParameters = nesting == 3 ? "<T>" : "";

        int attributeAt = _text.Length;
        string? attribute = _random.Next(4) != 0 ? ModelAttribute() : null;
        if (attribute is not null) _text.Append(attribute).Append('\n');
        _text.Append(_random.Next(3) == 0 ? "public sealed partial class " : "public partial class ")
            .Append(name).Append(typeParameters).Append(" : Module<Tensor, Tensor>\n{\n");

        var constructorBody = new StringBuilder();
        bool runtime = false;
        int targets = 1 + _random.Next(5);
        for (int t = 0; t < targets; t++)
            AppendTarget("t" + t.ToString(CultureInfo.InvariantCulture), constructorBody, ref runtime);
        if (_random.Next(2) == 0)
        {
            _text.Append("    private readonly BatchNorm2d bn = BatchNorm2d(4);\n");
            // A model with running statistics states its choice (FLORA012), either way.
            string choice = "SaveNormLayers = " + (index % 2 == 0 ? "true" : "false");
            string stated = attribute is null or "[FloraModel]" ? "[FloraModel(" + choice + ")]" : attribute.Substring(0, attribute.Length - 2) + ", " + choice + ")]";
            _text.Remove(attributeAt, attribute is null ? 0 : attribute.Length + 1).Insert(attributeAt, stated + "\n");
        }
        if (_random.Next(3) == 0) _text.Append("    public int Width { get; set; } = 3;\n");

        string parameters = runtime ? "int width" : "";
        _text.Append("    public ").Append(name).Append('(').Append(parameters).Append(") : base(\"").Append(name).Append("\")\n    {\n")
            .Append(constructorBody)
            .Append("        RegisterComponents();\n    }\n")
            .Append("    public override Tensor forward(Tensor x) => x;\n}\n");
        if (nesting is 2 or 3) _text.Append("}\n");
        if (nesting is 1 or 3) _text.Append("}\n");
        return _text.ToString();
    }

    private string ModelAttribute()
    {
        var args = new List<string>();
        if (_random.Next(2) == 0) args.Add("Rank = " + (1 + _random.Next(64)));
        if (_random.Next(2) == 0) args.Add("R3 = " + (1 + _random.Next(4)));
        if (_random.Next(2) == 0) args.Add("Scale = " + Pick("0.04", "0.4", "4", "1e-3"));
        if (_random.Next(3) == 0) args.Add("MaxTrainableParameters = " + Pick("0", "10_000_000_000"));
        return args.Count == 0 ? "[FloraModel]" : "[FloraModel(" + string.Join(", ", args) + ")]";
    }

    private void AppendTarget(string member, StringBuilder constructorBody, ref bool runtime)
    {
        int kind = _random.Next(4); // 0 Linear, 1 Conv1d, 2 Conv2d, 3 Conv3d
        string type = kind switch { 0 => "Linear", 1 => "Conv1d", 2 => "Conv2d", _ => "Conv3d" };
        long output = 1 + _random.Next(64), input = 1 + _random.Next(64), groups = 1;
        long[] kernel = Array.Empty<long>();
        string creation;
        if (kind == 0)
        {
            creation = $"Linear({input}, {output})";
        }
        else
        {
            int form = _random.Next(3); // plain, depthwise, grouped
            if (form == 1) { input = output; groups = input; }
            else if (form == 2) { groups = 1 + _random.Next(4); input = groups * (1 + _random.Next(8)); output = groups * (1 + _random.Next(8)); }
            kernel = Enumerable.Range(0, kind).Select(_ => (long)(1 + _random.Next(7))).ToArray();
            bool tuple = _random.Next(2) == 0 && kernel.Length > 1;
            if (!tuple) for (int i = 1; i < kernel.Length; i++) kernel[i] = kernel[0];
            string kernelText = tuple ? "(" + string.Join(", ", kernel) + ")" : kernel[0].ToString(CultureInfo.InvariantCulture);
            creation = $"{type}({input}, {output}, {kernelText}" + (groups > 1 ? $", groups: {groups}" : "") + (_random.Next(3) == 0 ? ", bias: false" : "") + ")";
        }

        // Where the layer comes from: initializer, constant constructor assignment, or a constructor argument.
        int source = _random.Next(5);
        bool shapeKnown = source != 4;
        if (source == 4)
        {
            runtime = true;
            creation = kind == 0 ? $"Linear(width, {output})" : creation.Replace($"({input}, {output},", $"({input}, width,");
        }

        string attribute = TargetAttribute(kind, shapeKnown, output, input / groups, kernel);
        int declaration = _random.Next(4); // field, get-only property, settable Module<Tensor, Tensor> property, Module<Tensor, Tensor> field
        string declared = declaration is 2 or 3 ? "Module<Tensor, Tensor>" : type;
        bool inConstructor = source is 3 or 4;
        string assignment = inConstructor ? ";" : " = " + creation + ";";
        if (inConstructor) constructorBody.Append("        ").Append(_random.Next(2) == 0 ? "this." : "").Append(member).Append(" = ").Append(creation).Append(";\n");
        _text.Append("    ").Append(attribute).Append(' ');
        _text.Append(declaration switch
        {
            1 => $"public {declared} {member} {{ get; }}" + (inConstructor ? "" : " = " + creation + ";"),
            2 => $"public {declared} {member} {{ get; set; }}" + (inConstructor ? "" : " = " + creation + ";"),
            _ => $"private readonly {declared} {member}{assignment}",
        });
        _text.Append('\n');
    }

    /// <summary>Explicit ranks within their modes (any value ≥ 1 when the shape is unknown); R3 only on convolutions.</summary>
    private string TargetAttribute(int kind, bool shapeKnown, long output, long inputPerGroup, long[] kernel)
    {
        var args = new List<string>();
        int Within(long limit) => 1 + _random.Next((int)Math.Min(limit, 64));
        int choice = _random.Next(4);
        if (choice == 1) args.Add("Rank = " + (shapeKnown ? Within(Math.Min(output, inputPerGroup)) : 1 + _random.Next(64)));
        if (choice == 2) args.Add("OutRank = " + (shapeKnown ? Within(output) : 1 + _random.Next(64)));
        if (choice == 2 && _random.Next(2) == 0) args.Add("InRank = " + (shapeKnown ? Within(inputPerGroup) : 1 + _random.Next(64)));
        if (choice == 3) args.Add("InRank = " + (shapeKnown ? Within(inputPerGroup) : 1 + _random.Next(64)));
        if (kind > 0 && _random.Next(2) == 0) args.Add("R3 = " + (shapeKnown ? Within(kernel.Min()) : 1 + _random.Next(3)));
        if (_random.Next(4) == 0) args.Add("Scale = " + Pick("0.04", "0.4", "4", "2.5"));
        var shuffled = args.ToArray();
        _random.Shuffle(shuffled); // argument order must not matter
        return shuffled.Length == 0 ? "[FloraTarget]" : "[FloraTarget(" + string.Join(", ", shuffled) + ")]";
    }

    private string Pick(params string[] values) => values[_random.Next(values.Length)];
}
