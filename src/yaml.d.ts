// Bun imports YAML files as their parsed value.
declare module "*.yaml" {
  const value: unknown;
  export default value;
}
