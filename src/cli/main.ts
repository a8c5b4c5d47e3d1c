// Placeholder entry until the CLI lands (replaced by the CLI work).
console.log("weir");
