'use strict';
// The isolation matrix with both tenants in the pool (tests/api/isolation-matrix.js).
require('./isolation-matrix')();
