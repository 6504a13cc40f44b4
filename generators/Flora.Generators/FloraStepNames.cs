namespace Flora.Generators
{
    /// <summary>Tracking names of the generator's pipeline steps (tests assert their caching).</summary>
    public static class FloraStepNames
    {
        /// <summary>Each [FloraTarget] member: its model's spec when the model has no [FloraModel] and this is its first annotated member, else null.</summary>
        public const string Targets = "Flora.Targets";
        /// <summary>Each [FloraModuleToSave] member: its model's spec when the model has no [FloraModel] and this is its first annotated member, else null.</summary>
        public const string ModulesToSave = "Flora.ModulesToSave";
        /// <summary>Each [FloraModel] type: its spec, or null when it gets no generated code.</summary>
        public const string ModelTypes = "Flora.ModelTypes";
        /// <summary>The model specs with their unique file names.</summary>
        public const string Models = "Flora.Models";
        /// <summary>Each interceptable <c>target.forward(x)</c> call site (interceptors, issue 17).</summary>
        public const string InterceptionSites = "Flora.InterceptionSites";
        /// <summary>Whether the project enables interception (FloraInterceptForward, InterceptorsNamespaces).</summary>
        public const string InterceptionEnabled = "Flora.InterceptionEnabled";
        /// <summary>The interceptor specs, one per model with interceptable calls.</summary>
        public const string Interceptors = "Flora.Interceptors";
    }
}
