using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Flora.Tests.PublicApi;

/// <summary>
/// The public surface of an assembly as stable text, in the spirit of PublicApiAnalyzers' <c>PublicAPI.Shipped.txt</c>:
/// every type users can see (public, or protected nested in one they can see), sorted by full name, followed by its
/// members, one indented line each with its C# signature (modifiers, nullable annotations, tuple element names, default
/// values, generic constraints). Protected members count only where a user can derive from the type (it is not sealed
/// and has a public or protected constructor). <c>[EditorBrowsable(Never)]</c>, <c>[Obsolete]</c> and an attribute
/// type's <c>[AttributeUsage]</c> are written too: they are part of what users see.
/// </summary>
internal static class PublicApiText
{
    private static readonly object Gate = new();
    private static NullabilityInfoContext Nullability = new();

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(object)] = "object", [typeof(string)] = "string", [typeof(bool)] = "bool",
        [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(char)] = "char", [typeof(short)] = "short",
        [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long",
        [typeof(ulong)] = "ulong", [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal",
        [typeof(nint)] = "nint", [typeof(nuint)] = "nuint",
    };

    private static readonly Dictionary<string, string> Operators = new()
    {
        ["op_Equality"] = "operator ==", ["op_Inequality"] = "operator !=", ["op_LessThan"] = "operator <",
        ["op_GreaterThan"] = "operator >", ["op_LessThanOrEqual"] = "operator <=", ["op_GreaterThanOrEqual"] = "operator >=",
        ["op_Addition"] = "operator +", ["op_Subtraction"] = "operator -", ["op_Multiply"] = "operator *",
        ["op_Division"] = "operator /", ["op_Implicit"] = "implicit operator", ["op_Explicit"] = "explicit operator",
    };

    /// <summary>The visible types of <paramref name="assembly"/>, each a header line followed by its indented members.</summary>
    public static string Render(Assembly assembly)
    {
        lock (Gate)
        {
            Nullability = new NullabilityInfoContext(); // not thread-safe: one per rendering
            return RenderTypes(assembly);
        }
    }

    private static string RenderTypes(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var type in VisibleTypes(assembly).OrderBy(t => TypeName(t), StringComparer.Ordinal))
        {
            text.Append(TypeDeclaration(type)).Append('\n');
            foreach (var member in Members(type)) text.Append("  ").Append(member).Append('\n');
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Every type a user of <paramref name="assembly"/> can name.</summary>
    public static IEnumerable<Type> VisibleTypes(Assembly assembly) =>
        assembly.GetTypes().Where(t => IsVisible(t) && !t.Name.StartsWith('<'));

    private static bool IsVisible(Type type) =>
        type.DeclaringType is null
            ? type.IsPublic
            : (type.IsNestedPublic || (type.IsNestedFamily || type.IsNestedFamORAssem) && IsExtensible(type.DeclaringType)) && IsVisible(type.DeclaringType);

    /// <summary>Whether a user can derive from <paramref name="type"/>, and so reach its protected members.</summary>
    private static bool IsExtensible(Type type) =>
        type.IsClass && !type.IsSealed
        && type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Any(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly);

    private static bool IsVisible(MethodBase? method, bool extensible) =>
        method is not null && (method.IsPublic || extensible && (method.IsFamily || method.IsFamilyOrAssembly));

    private static bool IsVisible(FieldInfo field, bool extensible) =>
        field.IsPublic || extensible && (field.IsFamily || field.IsFamilyOrAssembly);

    private static string Access(MethodBase method) => method.IsPublic ? "public" : "protected";

    // ---- types ----

    private static string TypeDeclaration(Type type)
    {
        var text = new StringBuilder(Attributes(type));
        text.Append(type.IsPublic || type.IsNestedPublic ? "public " : "protected ");
        if (type.IsEnum)
        {
            text.Append("enum ").Append(TypeName(type));
            var underlying = Enum.GetUnderlyingType(type);
            if (underlying != typeof(int)) text.Append(" : ").Append(Keywords[underlying]);
            return text.ToString();
        }
        if (type.IsSubclassOf(typeof(Delegate)))
        {
            var invoke = type.GetMethod("Invoke")!;
            return text.Append("delegate ").Append(ReturnType(invoke)).Append(' ').Append(TypeName(type))
                .Append('(').Append(Parameters(invoke.GetParameters())).Append(')').Append(Constraints(type.GetGenericArguments())).ToString();
        }
        bool record = type.GetMethod("PrintMembers", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, new[] { typeof(StringBuilder) }) is { } print
                      && print.IsDefined(typeof(CompilerGeneratedAttribute));
        if (type.IsInterface) text.Append("interface ");
        else if (type.IsValueType) text.Append(type.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly " : "").Append(record ? "record struct " : "struct ");
        else
        {
            if (type.IsAbstract && type.IsSealed) text.Append("static ");
            else if (type.IsAbstract) text.Append("abstract ");
            else if (type.IsSealed) text.Append("sealed ");
            text.Append(record ? "record " : "class ");
        }
        text.Append(TypeName(type));
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType))
            bases.Add(TypeText(baseType, null, null));
        var inherited = type.BaseType?.GetInterfaces() ?? Array.Empty<Type>();
        bases.AddRange(type.GetInterfaces().Except(inherited).Where(i => i.IsPublic || i.IsNestedPublic)
            .Select(i => TypeText(i, null, null)).Order(StringComparer.Ordinal));
        if (bases.Count > 0) text.Append(" : ").Append(string.Join(", ", bases));
        return text.Append(Constraints(type.GetGenericArguments())).ToString();
    }

    private static string Attributes(MemberInfo member)
    {
        var text = new StringBuilder();
        if (member.GetCustomAttribute<EditorBrowsableAttribute>() is { } browsable)
            text.Append("[EditorBrowsable(").Append(browsable.State).Append(")] ");
        // The compiler marks constructors of types with required members [Obsolete] for compilers without the feature: not ours.
        if (member.GetCustomAttribute<ObsoleteAttribute>() is { } obsolete && !member.IsDefined(typeof(CompilerFeatureRequiredAttribute)))
            text.Append("[Obsolete(\"").Append(obsolete.Message).Append("\")] ");
        if (member is Type type && type.IsSubclassOf(typeof(Attribute)) && type.GetCustomAttribute<AttributeUsageAttribute>() is { } usage)
        {
            text.Append("[AttributeUsage(").Append(usage.ValidOn.ToString().Replace(", ", " | "));
            if (usage.AllowMultiple) text.Append(", AllowMultiple = true");
            if (!usage.Inherited) text.Append(", Inherited = false");
            text.Append(")] ");
        }
        return text.ToString();
    }

    // ---- members ----

    private static IEnumerable<string> Members(Type type)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        bool extensible = IsExtensible(type);
        if (type.IsEnum)
        {
            return type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .OrderBy(f => Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture))
                .Select(f => Attributes(f) + f.Name + " = " + Convert.ToString(f.GetRawConstantValue(), CultureInfo.InvariantCulture));
        }
        if (type.IsSubclassOf(typeof(Delegate))) return Array.Empty<string>();

        var lines = new List<(int Kind, string Name, string Text)>();
        var accessors = new HashSet<MethodInfo>();
        foreach (var property in type.GetProperties(all))
        {
            var get = property.GetMethod;
            var set = property.SetMethod;
            if (get is not null) accessors.Add(get);
            if (set is not null) accessors.Add(set);
            bool getVisible = IsVisible(get, extensible), setVisible = IsVisible(set, extensible);
            if (!getVisible && !setVisible) continue;
            var main = getVisible && (!setVisible || get!.IsPublic) ? get! : set!;
            var index = property.GetIndexParameters();
            string name = index.Length == 0 ? property.Name : "this[" + Parameters(index) + "]";
            var accessorText = new List<string>();
            if (getVisible) accessorText.Add((Access(get!) != Access(main) ? Access(get!) + " " : "") + "get;");
            if (setVisible)
            {
                bool init = set!.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
                accessorText.Add((Access(set) != Access(main) ? Access(set) + " " : "") + (init ? "init;" : "set;"));
            }
            string required = property.IsDefined(typeof(RequiredMemberAttribute)) ? "required " : "";
            lines.Add((2, property.Name, Attributes(property) + Access(main) + " " + Modifiers(main, type) + required
                + TypeText(property.PropertyType, Nullability.Create(property), TupleNames(property.GetCustomAttribute<TupleElementNamesAttribute>()))
                + " " + name + " { " + string.Join(" ", accessorText) + " }"));
        }
        foreach (var e in type.GetEvents(all))
        {
            var add = e.AddMethod;
            if (add is not null) accessors.Add(add);
            if (e.RemoveMethod is not null) accessors.Add(e.RemoveMethod);
            if (!IsVisible(add, extensible)) continue;
            lines.Add((3, e.Name, Attributes(e) + Access(add!) + " " + Modifiers(add!, type) + "event "
                + TypeText(e.EventHandlerType!, Nullability.Create(e), null) + " " + e.Name));
        }
        foreach (var field in type.GetFields(all))
        {
            if (!IsVisible(field, extensible) || field.Name.StartsWith('<')) continue;
            string access = field.IsPublic ? "public " : "protected ";
            string modifiers = field.IsLiteral ? "const " : (field.IsStatic ? "static " : "") + (field.IsInitOnly ? "readonly " : "");
            string value = field.IsLiteral ? " = " + Literal(field.GetRawConstantValue(), field.FieldType) : "";
            lines.Add((1, field.Name, Attributes(field) + access + modifiers
                + TypeText(field.FieldType, Nullability.Create(field), TupleNames(field.GetCustomAttribute<TupleElementNamesAttribute>())) + " " + field.Name + value));
        }
        foreach (var constructor in type.GetConstructors(all))
        {
            if (constructor.IsStatic || !IsVisible(constructor, extensible)) continue;
            lines.Add((0, ".ctor", Attributes(constructor) + Access(constructor) + " " + ShortName(type) + "(" + Parameters(constructor.GetParameters()) + ")"));
        }
        foreach (var method in type.GetMethods(all))
        {
            if (accessors.Contains(method) || !IsVisible(method, extensible) || method.Name.StartsWith('<')) continue;
            string name = Operators.TryGetValue(method.Name, out var op) ? op : method.Name;
            string generic = method.IsGenericMethodDefinition ? "<" + string.Join(", ", method.GetGenericArguments().Select(a => a.Name)) + ">" : "";
            lines.Add((4, method.Name, Attributes(method) + Access(method) + " " + Modifiers(method, type) + ReturnType(method) + " " + name + generic
                + "(" + Parameters(method.GetParameters()) + ")" + Constraints(method.IsGenericMethodDefinition ? method.GetGenericArguments() : Array.Empty<Type>())));
        }
        return lines.OrderBy(l => l.Kind).ThenBy(l => l.Name, StringComparer.Ordinal).ThenBy(l => l.Text, StringComparer.Ordinal).Select(l => l.Text);
    }

    /// <summary>static, abstract, virtual, override, sealed override (an interface's members are written without).</summary>
    private static string Modifiers(MethodInfo method, Type declaring)
    {
        if (declaring.IsInterface) return method.IsStatic ? "static " : "";
        if (method.IsStatic) return "static ";
        string readOnly = declaring.IsValueType && method.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly " : "";
        bool overrides = method.GetBaseDefinition().DeclaringType != method.DeclaringType;
        if (method.IsAbstract) return readOnly + (overrides ? "abstract override " : "abstract ");
        if (!method.IsVirtual) return readOnly;
        if (overrides) return readOnly + (method.IsFinal ? "sealed override " : "override ");
        return readOnly + (method.IsFinal ? "" : "virtual "); // virtual final: an interface's implementation, not virtual in C#
    }

    private static string ReturnType(MethodInfo method) =>
        TypeText(method.ReturnType, Nullability.Create(method.ReturnParameter), TupleNames(method.ReturnParameter.GetCustomAttribute<TupleElementNamesAttribute>()));

    private static string Parameters(IEnumerable<ParameterInfo> parameters) => string.Join(", ", parameters.Select(Parameter));

    private static string Parameter(ParameterInfo p)
    {
        var text = new StringBuilder();
        if (p.Position == 0 && p.Member.IsDefined(typeof(ExtensionAttribute))) text.Append("this ");
        if (p.IsDefined(typeof(ParamArrayAttribute))) text.Append("params ");
        if (p.ParameterType.IsByRef) text.Append(p.IsOut ? "out " : p.IsIn ? "in " : "ref ");
        text.Append(TypeText(p.ParameterType, Nullability.Create(p), TupleNames(p.GetCustomAttribute<TupleElementNamesAttribute>())));
        text.Append(' ').Append(p.Name);
        if (p.HasDefaultValue) text.Append(" = ").Append(Literal(p.RawDefaultValue, p.ParameterType));
        return text.ToString();
    }

    private static string Literal(object? value, Type type)
    {
        Type target = Nullable.GetUnderlyingType(type) ?? (type.IsByRef ? type.GetElementType()! : type);
        if (value is null || value is DBNull || value is Missing) return type.IsValueType && Nullable.GetUnderlyingType(type) is null ? "default" : "null";
        if (target.IsEnum)
        {
            object member = Enum.ToObject(target, value);
            return Enum.IsDefined(target, member) ? TypeName(target) + "." + member : "(" + TypeName(target) + ")" + Convert.ToString(value, CultureInfo.InvariantCulture);
        }
        return value switch
        {
            string s => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"",
            char c => "'" + c + "'",
            bool b => b ? "true" : "false",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }

    private static string Constraints(Type[] parameters)
    {
        var text = new StringBuilder();
        foreach (var parameter in parameters.Where(p => p.IsGenericParameter))
        {
            var constraints = new List<string>();
            var attributes = parameter.GenericParameterAttributes;
            bool isStruct = attributes.HasFlag(GenericParameterAttributes.NotNullableValueTypeConstraint);
            if (attributes.HasFlag(GenericParameterAttributes.ReferenceTypeConstraint)) constraints.Add("class");
            if (isStruct) constraints.Add("struct");
            constraints.AddRange(parameter.GetGenericParameterConstraints().Where(c => !(isStruct && c == typeof(ValueType))).Select(c => TypeText(c, null, null)));
            if (attributes.HasFlag(GenericParameterAttributes.DefaultConstructorConstraint) && !isStruct) constraints.Add("new()");
            if (constraints.Count > 0) text.Append(" where ").Append(parameter.Name).Append(" : ").Append(string.Join(", ", constraints));
        }
        return text.ToString();
    }

    // ---- type names ----

    /// <summary>A type's full name as C# writes it in a declaration: <c>Flora.Outer.Inner&lt;T&gt;</c>.</summary>
    public static string TypeName(Type type) => TypeText(type, null, null);

    private static string ShortName(Type type)
    {
        string name = type.Name;
        int tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>Tuple element names in the order the compiler records them (a pre-order walk of the type), consumed as the walk goes.</summary>
    private sealed class TupleCursor(IList<string?> names)
    {
        private int _next;

        public string? Next() => _next < names.Count ? names[_next++] : null;
    }

    private static TupleCursor? TupleNames(TupleElementNamesAttribute? attribute) => attribute is null ? null : new TupleCursor(attribute.TransformNames);

    private static string TypeText(Type type, NullabilityInfo? nullability, TupleCursor? tuples)
    {
        if (type.IsByRef) return TypeText(type.GetElementType()!, nullability, tuples);
        if (type.IsPointer) return TypeText(type.GetElementType()!, null, tuples) + "*";
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return TypeText(underlying, nullability?.GenericTypeArguments.FirstOrDefault(), tuples) + "?";
        string suffix = nullability is { ReadState: NullabilityState.Nullable } && !type.IsValueType ? "?" : "";
        if (type.IsArray)
            return TypeText(type.GetElementType()!, nullability?.ElementType, tuples) + "[" + new string(',', type.GetArrayRank() - 1) + "]" + suffix;
        if (type.IsGenericParameter) return type.Name + suffix;
        if (Keywords.TryGetValue(type, out var keyword)) return keyword + suffix;

        var arguments = type.IsGenericType ? type.GetGenericArguments() : Array.Empty<Type>();
        var argumentNullability = nullability?.GenericTypeArguments ?? Array.Empty<NullabilityInfo>();
        if (type.IsGenericType && !type.IsGenericTypeDefinition && type.FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true && arguments.Length <= 7)
        {
            var names = arguments.Select(_ => tuples?.Next()).ToArray();
            var elements = arguments.Select((a, i) => TypeText(a, i < argumentNullability.Length ? argumentNullability[i] : null, tuples) + (names[i] is { } n ? " " + n : ""));
            return "(" + string.Join(", ", elements) + ")" + suffix;
        }

        // The nesting chain, each level with its own share of the generic arguments.
        var chain = new List<Type>();
        for (var t = type.IsGenericType ? type.GetGenericTypeDefinition() : type; t is not null; t = t.DeclaringType) chain.Insert(0, t);
        var text = new StringBuilder(chain[0].Namespace is { Length: > 0 } ns ? ns + "." : "");
        int used = 0;
        for (int level = 0; level < chain.Count; level++)
        {
            if (level > 0) text.Append('.');
            text.Append(ShortName(chain[level]));
            int count = chain[level].GetGenericArguments().Length - used;
            if (count <= 0) continue;
            var own = new List<string>();
            for (int i = used; i < used + count; i++)
                own.Add(i < arguments.Length ? TypeText(arguments[i], i < argumentNullability.Length ? argumentNullability[i] : null, tuples) : "");
            text.Append('<').Append(string.Join(", ", own)).Append('>');
            used += count;
        }
        return text.Append(suffix).ToString();
    }
}
