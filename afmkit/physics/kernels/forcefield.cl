// Lennard-Jones + Coulomb force field on a regular grid (afmkit). NumPy twin:
// forcefield.lj_coulomb_pair (the pair terms), summed over atoms by forcefield.lj_coulomb_numpy;
// tests/physics/test_forcefield.py checks that both agree.
//
// Units: Å, eV, e. Output per grid point: (Fx, Fy, Fz) in eV/Å on the probe particle and E in eV.
// Grid point (ix, iy, iz) is at origin + (ix, iy, iz) * step; memory index (iz * ny + iy) * nx + ix.
//
// atoms[i] = (x, y, z, k_e * q_i * Q_PP)      [Å, Å, Å, eV·Å]
// lj[i]    = (r_ij^2, eps_ij)                 [Å², eV]
//
// Each work item computes NZ_PER_ITEM points of one (ix, iy) column, so every atom read from memory
// is used several times.

// R2_SOFTENING (Å², added to r² so a grid point on a nucleus stays finite) comes from
// forcefield.R2_SOFTENING as a build option (-DR2_SOFTENING=..., see opencl.py).
#ifndef R2_SOFTENING
#error "build with -DR2_SOFTENING=<value in Å²> (afmkit.physics.opencl does)"
#endif

#ifndef NZ_PER_ITEM
#define NZ_PER_ITEM 4
#endif

__kernel void lj_coulomb_grid(
    const int n_atoms,
    __global const float4* restrict atoms,
    __global const float2* restrict lj,
    __global float4* restrict out,
    const int nx, const int ny, const int nz,
    const float4 origin,
    const float step
){
    const int ix = get_global_id(0);
    const int iy = get_global_id(1);
    const int iz0 = get_global_id(2) * NZ_PER_ITEM;
    if (ix >= nx || iy >= ny || iz0 >= nz) return;

    const float px = origin.x + ix * step;
    const float py = origin.y + iy * step;
    float4 acc[NZ_PER_ITEM];
    for (int k = 0; k < NZ_PER_ITEM; k++) acc[k] = (float4)(0.0f);

    for (int i = 0; i < n_atoms; i++) {
        const float4 a = atoms[i];
        const float2 p = lj[i];
        const float dx = px - a.x;
        const float dy = py - a.y;
        const float rxy2 = dx * dx + dy * dy + R2_SOFTENING;
        for (int k = 0; k < NZ_PER_ITEM; k++) {
            const float dzk = origin.z + (iz0 + k) * step - a.z;
            const float ir2 = 1.0f / (rxy2 + dzk * dzk);
            const float u = p.x * ir2;
            const float u3 = u * u * u;
            const float e_el = a.w * sqrt(ir2);
            const float fr = (12.0f * p.y * (u3 * u3 - u3) + e_el) * ir2;
            acc[k] += (float4)(dx * fr, dy * fr, dzk * fr, p.y * (u3 * u3 - 2.0f * u3) + e_el);
        }
    }
    for (int k = 0; k < NZ_PER_ITEM; k++) {
        const int iz = iz0 + k;
        if (iz < nz) out[(iz * ny + iy) * nx + ix] = acc[k];
    }
}
