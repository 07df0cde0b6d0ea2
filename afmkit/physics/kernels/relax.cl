// Probe-particle relaxation over a tabulated force field, and Fz -> Δf
// (afmkit, NumPy twins: relax.relax_numpy and frequency.fz_to_df).
//
// Units: Å, eV; spring constants in eV/Å² (k_lat_ev, k_rad_ev); forces in eV/Å; FIRE time in the
// model's units (mass 1). Every FIRE constant is a kernel argument, passed by
// afmkit.physics.opencl.relax from the same relax.FireSettings the NumPy twin uses: this file holds
// no FIRE literals.
//
// One work item = one pixel. The tip apex approaches from z_top downwards in n_samples steps of dz;
// at every step the probe particle (PP) relaxes by FIRE from where it was (shifted with the tip),
// and the z force of the sample on the relaxed PP is recorded.
//
// ff: float4 (Fx, Fy, Fz, E) on the grid, index (iz * ny + iy) * nx + ix, point = origin + i * step.

#ifndef GRID_CLAMP
#error "build with -DGRID_CLAMP=<grid cells> (afmkit.physics.opencl does)"
#endif

inline float4 ff_at(
    __global const float4* restrict ff, float3 pos,
    const int nx, const int ny, const int nz, const float3 origin, const float inv_step
){
    float3 g = (pos - origin) * inv_step;
    // Stay inside the box: the PP never should leave it, and if it does it feels the edge value.
    // GRID_CLAMP (relax.GRID_CLAMP, a build option) keeps the stencil's far corner inside.
    g = clamp(g, (float3)(0.0f), (float3)(nx - GRID_CLAMP, ny - GRID_CLAMP, nz - GRID_CLAMP));
    const float3 fl = floor(g);
    const float3 t = g - fl;
    const int ix = (int)fl.x, iy = (int)fl.y, iz = (int)fl.z;
    const int sy = nx, sz = nx * ny;
    const int i0 = (iz * ny + iy) * nx + ix;
    const float4 c00 = mix(ff[i0],           ff[i0 + 1],           t.x);
    const float4 c10 = mix(ff[i0 + sy],      ff[i0 + sy + 1],      t.x);
    const float4 c01 = mix(ff[i0 + sz],      ff[i0 + sz + 1],      t.x);
    const float4 c11 = mix(ff[i0 + sz + sy], ff[i0 + sz + sy + 1], t.x);
    return mix(mix(c00, c10, t.y), mix(c01, c11, t.y), t.z);
}

inline float3 spring_force(const float3 d, const float4 rest, const float k_lat_ev, const float k_rad_ev){
    // d = PP - tip apex. Lateral springs pull (dx, dy) to the rest offset; the radial spring keeps
    // |d| at the rest length rest.w.
    const float r = length(d);
    float3 f = d * (-k_rad_ev * (r - rest.w) / r);
    f.x -= k_lat_ev * (d.x - rest.x);
    f.y -= k_lat_ev * (d.y - rest.y);
    return f;
}

__kernel void relax_probe(
    __global const float4* restrict ff,
    const int nx, const int ny, const int nz,
    const float4 origin4, const float inv_step,
    const float x0, const float y0, const float sx, const float sy, const int n_py,
    const float z_top, const float dz, const int n_samples,
    const float4 rest,            // PP rest offset from the tip apex (x, y, z) and rest length w, Å
    const float k_lat_ev, const float k_rad_ev,   // spring constants, eV/Å²
    // FIRE (relax.FireSettings): largest and smallest time step, their growth and shrink factors,
    // initial mixing alpha and its shrink factor, step limit, convergence threshold |F|² (eV²/Å²)
    const float dt_max, const float dt_min, const float f_inc, const float f_dec,
    const float alpha0, const float f_alpha, const int max_iter, const float f2_conv,
    __global float* restrict fz_out,      // (n_pixels, n_samples)
    __global float4* restrict pos_out,    // (n_pixels, n_samples) PP positions, or unused
    const int store_pos
){
    const int p = get_global_id(0);
    const int ipx = p / n_py, ipy = p % n_py;
    const float3 origin = origin4.xyz;
    float3 tip = (float3)(x0 + ipx * sx, y0 + ipy * sy, z_top);
    float3 pos = tip + rest.xyz;

    for (int s = 0; s < n_samples; s++) {
        float3 v = (float3)(0.0f);
        float dt = dt_max;
        float alpha = alpha0;
        float4 fe = ff_at(ff, pos, nx, ny, nz, origin, inv_step);
        for (int it = 0; it < max_iter; it++) {
            const float3 f = fe.xyz + spring_force(pos - tip, rest, k_lat_ev, k_rad_ev);
            const float ff2 = dot(f, f);
            if (ff2 < f2_conv) break;
            const float vf = dot(v, f);
            if (vf > 0.0f) {
                v = v * (1.0f - alpha) + f * (alpha * sqrt(dot(v, v) / ff2));
                dt = fmin(dt * f_inc, dt_max);
                alpha *= f_alpha;
            } else {
                v = (float3)(0.0f);
                dt = fmax(dt * f_dec, dt_min);
                alpha = alpha0;
            }
            v += f * dt;
            pos += v * dt;
            fe = ff_at(ff, pos, nx, ny, nz, origin, inv_step);
        }
        fz_out[p * n_samples + s] = fe.z;
        if (store_pos) pos_out[p * n_samples + s] = (float4)(pos, fe.w);
        tip.z -= dz;
        pos.z -= dz;
    }
}

// Δf from Fz: df[p, k] = sum_l w[l] * fz[p, k + l]   (fz in approach order, top first).
__kernel void fz_to_df(
    __global const float* restrict fz, __global float* restrict df,
    __constant float* w, const int m, const int n_in, const int n_out
){
    const int p = get_global_id(0);
    for (int k = 0; k < n_out; k++) {
        float acc = 0.0f;
        for (int l = 0; l < m; l++) acc += w[l] * fz[p * n_in + k + l];
        df[p * n_out + k] = acc;
    }
}
