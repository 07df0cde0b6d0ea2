// Lennard-Jones + Coulomb force field on a regular grid (afmkit). NumPy twin:
// forcefield.lj_coulomb_pair (the pair terms), summed over atoms by forcefield.lj_coulomb_numpy;
// tests/physics/test_forcefield.py checks that both agree.
//
// Units: Å, eV, e. Output per grid point: (Fx, Fy, Fz) in eV/Å on the probe particle and E in eV.
// Grid point (ix, iy, iz) is at origin + (ix, iy, iz) * step; memory index (ix * ny + iy) * nz + iz
// (z fastest: the probe particle of one pixel moves mostly along z, so its stencils stay in cache).
//
// atoms[i] = (x, y, z, k_e * q_i * Q_PP)      [Å, Å, Å, eV·Å]
// lj[i]    = (r_ij^2, eps_ij)                 [Å², eV]
//
// Each work item computes NZ_PER_ITEM consecutive points of one (ix, iy) column as the lanes of
// one OpenCL vector (floatz below), so the loop over atoms runs in SIMD lanes on a CPU and every
// atom read from memory is used NZ_PER_ITEM times.

// R2_SOFTENING (Å², added to r² so a grid point on a nucleus stays finite) comes from
// forcefield.R2_SOFTENING as a build option (-DR2_SOFTENING=..., see opencl.py).
#ifndef R2_SOFTENING
#error "build with -DR2_SOFTENING=<value in Å²> (afmkit.physics.opencl does)"
#endif

#ifndef NZ_PER_ITEM
#error "build with -DNZ_PER_ITEM=<4, 8 or 16> (afmkit.physics.opencl does)"
#endif
#if NZ_PER_ITEM == 4
typedef float4 floatz;
#define LANES ((float4)(0, 1, 2, 3))
#define vstorez vstore4
#elif NZ_PER_ITEM == 8
typedef float8 floatz;
#define LANES ((float8)(0, 1, 2, 3, 4, 5, 6, 7))
#define vstorez vstore8
#elif NZ_PER_ITEM == 16
typedef float16 floatz;
#define LANES ((float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define vstorez vstore16
#else
#error "NZ_PER_ITEM must be 4, 8 or 16"
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
    const floatz pz = origin.z + ((floatz)(iz0) + LANES) * step;
    floatz fx = (floatz)(0.0f), fy = (floatz)(0.0f), fz = (floatz)(0.0f), en = (floatz)(0.0f);

    for (int i = 0; i < n_atoms; i++) {
        const float4 a = atoms[i];
        const float2 p = lj[i];
        const float dx = px - a.x;
        const float dy = py - a.y;
        const float rxy2 = dx * dx + dy * dy + R2_SOFTENING;
        const floatz dzk = pz - a.z;
        const floatz ir = rsqrt(rxy2 + dzk * dzk);   // 1/r; 1/r² is its square
        const floatz ir2 = ir * ir;
        const floatz u = p.x * ir2;
        const floatz u3 = u * u * u;
        const floatz e_el = a.w * ir;
        const floatz fr = (12.0f * p.y * (u3 * u3 - u3) + e_el) * ir2;
        fx += dx * fr;
        fy += dy * fr;
        fz += dzk * fr;
        en += p.y * (u3 * u3 - 2.0f * u3) + e_el;
    }
    float bx[NZ_PER_ITEM], by[NZ_PER_ITEM], bz[NZ_PER_ITEM], be[NZ_PER_ITEM];
    vstorez(fx, 0, bx);
    vstorez(fy, 0, by);
    vstorez(fz, 0, bz);
    vstorez(en, 0, be);
    const int base = (ix * ny + iy) * nz + iz0;
    for (int k = 0; k < NZ_PER_ITEM && iz0 + k < nz; k++)
        out[base + k] = (float4)(bx[k], by[k], bz[k], be[k]);
}
