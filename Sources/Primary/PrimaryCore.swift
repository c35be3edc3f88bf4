public enum PrimaryPlaceholder {}
