import { migrate } from '/work/wt/i13/src/migrate.ts';
console.log(await migrate('postgres://postgres@127.0.0.1:5432/i13_scratch'));
