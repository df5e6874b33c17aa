'use strict';
// The isolation matrix with tenant A's data in a cell of its own and B in the pool
// (tests/api/isolation-matrix.js).
require('./isolation-matrix')({ cell: true });
