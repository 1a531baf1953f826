{#- The learning-curve points of the copy each experiment is read from
    (int_experiments_located: its folder and file), as the decode store
    computed them in its one pass over each file's arrays (the `learning_curve`
    column of store_experiment_copies, macros/intermediate/butter_curve_points.sql),
    for the files of this build's inventory (butter_current_copies): a build
    that decodes no file reads no summary array here. Ephemeral: the published
    warehouse holds no relation that reads the decode store, which is a file of
    its own; marts.experiment_learning_curves inlines it. -#}
{{ config(materialized='ephemeral') }}

with

stored_curves as (
    select
        experiment_id,
        source_folder,
        source_file,
        file_identity,
        learning_curve
    from {{ ref('store_experiment_copies') }}
),

experiments_located as (
    select
        experiment_id,
        read_from_folder,
        read_from_file
    from {{ ref('int_experiments_located') }}
),

current_curves as (
    {{ butter_current_copies('summary', 'stored_curves') }}
),

read_curves as (
    select
        current_curves.experiment_id,
        current_curves.learning_curve
    from current_curves
    inner join experiments_located
        on
            current_curves.experiment_id = experiments_located.experiment_id
            and current_curves.source_folder = experiments_located.read_from_folder
            and current_curves.source_file = experiments_located.read_from_file
),

final as (
    select * from read_curves
)

select * from final
